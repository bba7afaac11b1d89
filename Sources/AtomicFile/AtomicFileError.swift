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
    /// The file system is full, or the user's quota is spent: the write may work later, and is nobody's mistake.
    public let isStorageFull: Bool

    init(operation: String, path: String) {
        self.operation = operation
        self.path = path
        isStorageFull = errno == ENOSPC || errno == EDQUOT
        reason = String(cString: strerror(errno))
    }

    public var description: String { "cannot \(operation) \(path): \(reason)" }
}
