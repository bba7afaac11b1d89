#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-or-nothing file writes, and the temporary-file naming they use: results, uploads and blobs are written to
/// `.<name>.tmp-XXXXXX` beside the target, flushed, and renamed over it, so readers see either the old file or the
/// complete new one. A process killed mid-write leaves only such a temporary file, which the sweeper recognises by
/// ``isTemporary(name:)``.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically. On failure neither a partial target nor the temporary file is left.
    public static func write(_ bytes: [UInt8], to path: String, permissions: UInt16 = 0o644) throws(AtomicFileError) {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(directory)/.\(name)\(marker)XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw AtomicFileError(operation: "create a temporary file for", path: path) }
        let temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var renamed = false
        defer { if !renamed { unlink(temporaryPath) } }

        do {
            defer { close(fd) }
            // mkstemp creates 0600; the caller says who else may read the file.
            guard fchmod(fd, mode_t(permissions)) == 0 else {
                throw AtomicFileError(operation: "set permissions for", path: path)
            }
            guard writeFully(fd, bytes) else { throw AtomicFileError(operation: "write", path: path) }
            // Flush before rename, so a crash cannot leave a renamed but empty file.
            guard fsync(fd) == 0 else { throw AtomicFileError(operation: "sync", path: path) }
        }
        guard rename(temporaryPath, path) == 0 else { throw AtomicFileError(operation: "rename into", path: path) }
        renamed = true
    }

    /// Whether a file name is one of ``write(_:to:permissions:)``'s temporary files.
    public static func isTemporary(name: String) -> Bool {
        name.hasPrefix(".") && name.contains(marker)
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and interruptions; false on an error (see `errno`).
    public static func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = systemWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }

    private static let marker = ".tmp-"
}

/// `write(2)`, named apart from ``AtomicFile/write(_:to:permissions:)``, which shadows it inside the enum.
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
