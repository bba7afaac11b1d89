public import Foundation

/// Where uploads and results live, by key (`inputs/<job>`, `results/<job>-<attempt>.png`). A `put` is whole or
/// nothing: a reader sees the complete bytes or no blob, never part of one.
public protocol BlobStore: Sendable {
    func put(_ key: String, _ bytes: [UInt8]) async throws
    func get(_ key: String) async throws -> [UInt8]?
    /// Deletes what exists of `keys`; missing keys are not an error.
    func delete(_ keys: [String]) async throws
    /// The keys of uploads and results written before `date`: what the sweeper checks against the jobs, so that
    /// blobs no job references (an upload stored before a crash, the result of a lost lease) do not stay forever.
    func keys(writtenBefore date: Date) async throws -> [String]
    /// The blob as chunks read as they are consumed, with its length; nil if there is none. A store that cannot
    /// stream hands over the whole blob as one chunk.
    func chunks(_ key: String) async throws -> BlobChunks?
}

extension BlobStore {
    public func chunks(_ key: String) async throws -> BlobChunks? {
        guard let bytes = try await get(key) else { return nil }
        return BlobChunks(length: bytes.count, next: { [bytes] index in index == 0 ? bytes : nil })
    }
}
