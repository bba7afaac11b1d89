/// An error from reading or running a network.
///
/// `message` is one line that is safe to show a user; `detail` carries the library text for logs.
public struct InferenceError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is, for callers that branch on it.
    public enum Code: Sendable, Equatable {
        case malformedModel
        case unsupportedOperation
        case shapeMismatch
        case backendFailure
    }

    public let code: Code
    public let message: String
    public let detail: String

    init(_ code: Code, _ message: String, detail: String = "") {
        self.code = code
        self.message = message
        self.detail = detail
    }

    public var description: String { message }
}
