#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed atomic write: which step failed, on which path, and the system's reason (`errno` when it was thrown).
public struct AtomicFileError: Error, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let reason: String

    init(operation: String, path: String) {
        self.operation = operation
        self.path = path
        reason = String(cString: strerror(errno))
    }

    public var description: String { "cannot \(operation) \(path): \(reason)" }
}
