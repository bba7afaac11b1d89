public import Foundation
public import Logging

/// A job store with the blob store that goes with it, made by one of three factories: the only place that knows
/// which implementations belong together.
public struct Stores: Sendable {
    public let jobs: any JobStore
    public let blobs: any BlobStore
    /// The PostgreSQL client, whose connection pool must run beside the services (``PostgresJobStore/run()``) and whose
    /// schema is migrated before use; nil for the other stores.
    public let postgres: PostgresJobStore?

    /// The embedded default: jobs in a SQLite file (migrated as it opens), blobs as files under `blobRoot`.
    public static func sqlite(path: String, blobRoot: URL) throws -> Stores {
        Stores(jobs: try SQLiteJobStore(path: path), blobs: FileBlobStore(root: blobRoot), postgres: nil)
    }

    /// Scale-out: jobs in PostgreSQL, shared by every process that names the URL; blobs in the database, or as files
    /// in `blobDirectory` when every process mounts one.
    public static func postgres(
        url: String, schema: String? = nil, blobDirectory: URL? = nil,
        logger: Logger
    ) throws -> Stores {
        let store = try PostgresJobStore(url: url, schema: schema, logger: logger)
        return Stores(jobs: store, blobs: blobDirectory.map { FileBlobStore(root: $0) } ?? store, postgres: store)
    }

    /// Everything in this process's memory, gone when it ends: for tests. The jobs are a SQLite database in memory,
    /// so the state machine is the same code as the file's.
    public static func memory() throws -> Stores {
        Stores(jobs: try SQLiteJobStore.inMemory(), blobs: MemoryBlobStore(), postgres: nil)
    }
}
