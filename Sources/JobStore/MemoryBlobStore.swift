public import Foundation
import Synchronization

/// Blobs in this process's memory, beside the in-memory job store (``Stores/memory()``).
public final class MemoryBlobStore: BlobStore {
    private let blobs = Mutex([String: (bytes: [UInt8], written: Date)]())

    public init() {}

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        blobs.withLock { $0[key] = (bytes, Date()) }
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        blobs.withLock { $0[key]?.bytes }
    }

    public func keys(writtenBefore date: Date) async throws -> [String] {
        blobs.withLock { blobs in blobs.filter { $0.value.written < date }.map(\.key).sorted() }
    }

    public func delete(_ keys: [String]) async throws {
        blobs.withLock { blobs in for key in keys { blobs[key] = nil } }
    }
}
