import Synchronization

/// Blobs in this process's memory, beside the in-memory job store (``Stores/memory()``).
public final class MemoryBlobStore: BlobStore {
    private let blobs = Mutex([String: [UInt8]]())

    public init() {}

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        blobs.withLock { $0[key] = bytes }
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        blobs.withLock { $0[key] }
    }

    public func delete(_ keys: [String]) async throws {
        blobs.withLock { blobs in for key in keys { blobs[key] = nil } }
    }
}
