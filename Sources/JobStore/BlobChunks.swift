import Foundation

/// A blob read in pieces: `next(n)` returns the n-th chunk, or nil past the end. Nothing is read ahead of the
/// consumer, so a slow reader costs one chunk of memory, not the whole blob.
public struct BlobChunks: Sendable {
    public let length: Int
    public let next: @Sendable (Int) async throws -> [UInt8]?

    public init(length: Int, next: @escaping @Sendable (Int) async throws -> [UInt8]?) {
        self.length = length
        self.next = next
    }
}
