import Foundation

/// A value bound to a named parameter of a ``JobStatement``: the three column types the job tables use.
enum SQLValue: Sendable {
    case text(String?)
    case real(Double?)
    case integer(Int?)
    case blob(Data?)
}
