import Foundation
import JobStore

/// A blob store on a full disk: every write fails as the file system would make it fail; reads still work.
struct FullDiskBlobs: BlobStore {
    let base: any BlobStore

    func put(_ key: String, _ bytes: [UInt8]) async throws {
        throw StoreError("cannot write \(key): No space left on device", storageFull: true)
    }
    func get(_ key: String) async throws -> [UInt8]? { try await base.get(key) }
    func delete(_ keys: [String]) async throws { try await base.delete(keys) }
    func keys(writtenBefore date: Date) async throws -> [String] { try await base.keys(writtenBefore: date) }
    func chunks(_ key: String) async throws -> BlobChunks? { try await base.chunks(key) }
}
