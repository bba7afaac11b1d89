import Foundation

/// One SQL statement of the job tables, written once for both engines, with its parameters named `:name`. SQLite
/// binds the names as they are; PostgreSQL's store renumbers them `$1`, `$2`… (see ``numbered``).
struct JobStatement: Sendable {
    let sql: String
    let values: [String: SQLValue]

    init(_ sql: String, _ values: [String: SQLValue] = [:]) {
        self.sql = sql
        self.values = values
    }

    /// The text with each `:name` replaced by `$n`, and the values in that order (a name used twice is bound once).
    /// A `::type` cast is kept; the statements hold no colons in string literals, so every other `:` followed by a
    /// letter is a parameter.
    var numbered: (sql: String, values: [SQLValue]) {
        var output = "", order: [String] = []
        var rest = Substring(sql)
        while let colon = rest.firstIndex(of: ":") {
            output += rest[..<colon]
            let after = rest[rest.index(after: colon)...]
            if after.first == ":" {  // a PostgreSQL cast, `::type`
                output += "::"
                rest = after.dropFirst().drop { $0.isLetter || $0 == "_" }
                output += after.dropFirst().prefix { $0.isLetter || $0 == "_" }
                continue
            }
            let name =
                after.first.map { $0.isLetter || $0 == "_" } == true
                ? after.prefix { $0.isLetter || $0.isNumber || $0 == "_" } : ""
            guard !name.isEmpty else {
                output += ":"
                rest = after
                continue
            }
            if !order.contains(String(name)) { order.append(String(name)) }
            output += "$\(order.firstIndex(of: String(name))! + 1)"
            rest = rest[name.endIndex...]
        }
        output += rest
        return (
            output,
            order.map { name in
                guard let value = values[name] else { preconditionFailure("no value for :\(name) in \(sql)") }
                return value
            }
        )
    }
}
