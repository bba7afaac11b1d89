public import Crypto
public import Foundation

extension SHA256 {
    /// The digest of a file read 1 MiB at a time, so a model's hundreds of megabytes are never all in memory.
    public static func hash(fileAt url: URL) throws -> SHA256.Digest {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hasher.finalize()
    }
}
