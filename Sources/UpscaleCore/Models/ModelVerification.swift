public import Foundation

/// The result of checking one model file against its pinned or recorded digest.
public struct ModelVerification: Sendable, Hashable, CustomStringConvertible {
    /// What the check found.
    public enum Status: Sendable, Hashable {
        /// The file has the expected digest.
        case ok
        /// The file is not there.
        case missing
        /// The file's sha256 differs from the pinned or recorded one.
        case digestMismatch(expected: String, actual: String)
        /// The file is there but nothing records what its digest should be (it was copied in by hand).
        case unrecorded(actual: String)
        /// The file is there but could not be read.
        case unreadable(reason: String)
    }

    /// The model's canonical name.
    public let model: String
    /// The file that was checked.
    public let file: URL
    /// What the check found.
    public let status: Status
    /// True when the file is present and has the digest it should.
    public var isOK: Bool { status == .ok }
    /// True for a built-in model, whose files `upscaler models fetch` can restore.
    let builtIn: Bool

    /// One line for the user, naming the file and, when something is wrong, the fixing command.
    public var description: String {
        let fix =
            builtIn ? "run `upscaler models fetch`" : "import the model again with `upscaler models fetch --from PATH`"
        switch status {
        case .ok:
            return "ok: \(file.path)"
        case .missing:
            return "missing: \(file.path); \(fix)"
        case .digestMismatch(let expected, let actual):
            return "digest mismatch: \(file.path) has sha256 \(actual), expected \(expected); \(fix)"
        case .unrecorded(let actual):
            return "unrecorded: \(file.path) (sha256 \(actual)) is not in manifest.json; "
                + "import it with `upscaler models fetch --from PATH` to record it"
        case .unreadable(let reason):
            return "unreadable: \(file.path): \(reason)"
        }
    }
}
