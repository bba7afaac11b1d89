/// A model store failure, with a one-line message that names the file and the command that fixes it.
public struct ModelStoreError: Error, CustomStringConvertible, Equatable {
    enum Code: Sendable, Equatable {
        case missingFile, unknownModel, badSource, noModelsFound, digestMismatch, toolFailed, manifest, io
    }

    let code: Code
    /// The message for the user.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Same as `message`.
    public var description: String { message }
}
