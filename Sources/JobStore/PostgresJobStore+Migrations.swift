import Foundation
import Logging
internal import NIOSSL
internal import PostgresNIO
import Synchronization

extension PostgresJobStore {
    /// Creates or upgrades the tables, one numbered step at a time, each in its own transaction and recorded in
    /// `schema_migrations`, under an advisory lock so that concurrent starts and `upscaler migrate` agree.
    public func migrate() async throws {
        await untilPoolRuns()
        try await client.withConnection { connection in
            // Processes starting together take turns: a session advisory lock, held on this one connection, makes
            // even `CREATE SCHEMA IF NOT EXISTS` safe (it races on its own). The key names this schema only.
            let key = "hashtext('upscaler.migrate'), hashtext('\(schema)')"  // the schema name is letters, digits, _
            try await drain(
                connection.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_lock(\(key))"), logger: logger))
            do {
                try await applyMigrations(connection)
            } catch {
                _ = try? await drain(
                    connection.query(
                        PostgresQuery(unsafeSQL: "SELECT pg_advisory_unlock(\(key))"),
                        logger: logger))
                throw error
            }
            try await drain(
                connection.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_unlock(\(key))"), logger: logger))
        }
    }

    private func applyMigrations(_ connection: PostgresConnection) async throws {
        try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)",
            logger: logger)
        for (version, statements) in Self.migrations.enumerated() {
            let done = try await connection.query(
                "SELECT 1 FROM schema_migrations WHERE version = \(version + 1)", logger: logger)
            var applied = false
            for try await _ in done { applied = true }
            if applied { continue }
            try await connection.withTransaction(logger: logger) { connection in
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (\(version + 1), \(Date().timeIntervalSince1970))",
                    logger: logger)
            }
        }
    }

    /// Drops this store's schema and everything in it: for scratch schemas (benchmarks), never `public`.
    public func dropSchema() async throws {
        await untilPoolRuns()
        guard schema != "public" else { throw StoreError("refusing to drop the public schema") }
        try await client.query("DROP SCHEMA IF EXISTS \(unescaped: schema) CASCADE", logger: logger)
    }

    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY, owner TEXT NOT NULL, owner_name TEXT NOT NULL, status TEXT NOT NULL,
                request BYTEA NOT NULL, input_path TEXT NOT NULL, input_width INTEGER NOT NULL,
                input_height INTEGER NOT NULL, model TEXT NOT NULL, progress DOUBLE PRECISION NOT NULL DEFAULT 0,
                step TEXT, tiles_done INTEGER, tiles_total INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
                lease_owner TEXT, lease_expires DOUBLE PRECISION, created_at DOUBLE PRECISION NOT NULL,
                started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION, expires_at DOUBLE PRECISION,
                result_path TEXT, result_width INTEGER, result_height INTEGER, result_format TEXT,
                processing_seconds DOUBLE PRECISION, error_code TEXT, error_message TEXT)
            """,
            "CREATE INDEX jobs_by_status ON jobs (status, created_at)",
            "CREATE INDEX jobs_by_expiry ON jobs (expires_at)",
            """
            CREATE TABLE usage (
                owner TEXT PRIMARY KEY, owner_name TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
                jobs_succeeded INTEGER NOT NULL DEFAULT 0, jobs_failed INTEGER NOT NULL DEFAULT 0,
                input_megapixels DOUBLE PRECISION NOT NULL DEFAULT 0, output_megapixels DOUBLE PRECISION NOT NULL DEFAULT 0,
                compute_seconds DOUBLE PRECISION NOT NULL DEFAULT 0)
            """,
            "CREATE TABLE workers (id TEXT PRIMARY KEY, seen_at DOUBLE PRECISION NOT NULL)",
        ],
        [
            // Uploads and results live in the database too, so any api process can serve any download.
            "CREATE TABLE blobs (key TEXT PRIMARY KEY, data BYTEA NOT NULL, created_at DOUBLE PRECISION NOT NULL)"
        ],
        [
            // Per-token request buckets shared by every api process; counting an owner's jobs for the cap and for
            // the fair claim order.
            JobStateMachine.createRateBuckets,
            "CREATE INDEX jobs_by_owner ON jobs (owner, status)",
            // Choices every process must share, set by the first to start.
            "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ],
        [
            // Where each job's model ran (`cpu` or `gpu:N`), for its timings.
            "ALTER TABLE jobs ADD COLUMN result_device TEXT"
        ],
        // Crashes counted against inputs (see JobStateMachine+Crashes).
        JobStateMachine.crashesMigration,
    ]
}
