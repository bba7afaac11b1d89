/// Why a model file (`.safetensors`, `.pth`) could not be used. `message` is one line, safe to show a user and
/// naming the file; `detail` carries a library's own text for logs.
public struct ModelFileError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// The file is missing or cannot be read.
        case unreadable
        /// Larger than the configured limit for a model file.
        case tooLarge
        /// Not what its format says: truncated, inconsistent sizes, bad offsets, duplicate names.
        case malformed
        /// A pickle asks for something a weights file has no need of (a global outside the allowlist).
        case forbidden
        /// The tensors are not a network this engine knows.
        case unknownArchitecture
        /// A network this engine recognises but cannot run yet.
        case unsupported
    }

    public let code: Code
    public let message: String
    public let detail: String

    public init(_ code: Code, _ message: String, detail: String = "") {
        self.code = code
        self.message = message
        self.detail = detail
    }

    public var description: String { message }
}
