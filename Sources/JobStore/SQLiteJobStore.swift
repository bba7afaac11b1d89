public import Foundation
internal import GRDB

/// The embedded ``JobStore``: one SQLite file in WAL mode, shared safely by an api and a worker process on the same
/// machine. Every state change is one transaction, so a crash at any point leaves either the old state or the new.
public final class SQLiteJobStore: JobStore {
    private let pool: DatabasePool

    /// Opens (creating and migrating if needed) the database at `path`.
    public init(path: String) throws {
        var configuration = Configuration()
        // Another process (api or worker) may hold the write lock for a moment.
        configuration.busyMode = .timeout(10)
        configuration.label = "jobs"
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE jobs (
                        id TEXT PRIMARY KEY,
                        owner TEXT NOT NULL,
                        owner_name TEXT NOT NULL,
                        status TEXT NOT NULL,
                        request BLOB NOT NULL,
                        input_path TEXT NOT NULL,
                        input_width INTEGER NOT NULL,
                        input_height INTEGER NOT NULL,
                        model TEXT NOT NULL,
                        progress REAL NOT NULL DEFAULT 0,
                        step TEXT,
                        tiles_done INTEGER,
                        tiles_total INTEGER,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        lease_owner TEXT,
                        lease_expires REAL,
                        created_at REAL NOT NULL,
                        started_at REAL,
                        finished_at REAL,
                        expires_at REAL,
                        result_path TEXT,
                        result_width INTEGER,
                        result_height INTEGER,
                        result_format TEXT,
                        processing_seconds REAL,
                        error_code TEXT,
                        error_message TEXT
                    );
                    CREATE INDEX jobs_by_status ON jobs(status, created_at);
                    CREATE INDEX jobs_by_expiry ON jobs(expires_at);
                    CREATE TABLE usage (
                        owner TEXT PRIMARY KEY,
                        owner_name TEXT NOT NULL,
                        requests INTEGER NOT NULL DEFAULT 0,
                        jobs_succeeded INTEGER NOT NULL DEFAULT 0,
                        jobs_failed INTEGER NOT NULL DEFAULT 0,
                        input_megapixels REAL NOT NULL DEFAULT 0,
                        output_megapixels REAL NOT NULL DEFAULT 0,
                        compute_seconds REAL NOT NULL DEFAULT 0
                    );
                    CREATE TABLE workers (id TEXT PRIMARY KEY, seen_at REAL NOT NULL);
                    """)
        }
        migrator.registerMigration("v2: rate limits, owners' jobs") { db in
            try db.execute(sql: TokenBucketStatement.createTable)
            try db.execute(sql: "CREATE INDEX jobs_by_owner ON jobs (owner, status)")
        }
        migrator.registerMigration("v3: the device a job ran on") { db in
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN result_device TEXT")
        }
        return migrator
    }

    public func enqueue(_ job: NewJob, limits: QueueLimits, now: Date) async throws -> EnqueueResult {
        // One write transaction: SQLite lets one writer in at a time, so the counts cannot change before the insert.
        try await pool.write { db in
            if let most = limits.maxQueued {
                let queued = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE status = 'queued'") ?? 0
                if queued >= most { return .queueFull(queued: queued) }
            }
            if let most = limits.maxActivePerOwner {
                let active = try Self.activeCount(db, owner: job.owner)
                if active >= most { return .ownerAtLimit(active: active) }
            }
            try db.execute(
                sql: """
                    INSERT INTO jobs (id, owner, owner_name, status, request, input_path, input_width, input_height, model,
                                      created_at)
                    VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    job.id, job.owner, job.ownerName, job.request, job.inputPath, job.inputWidth,
                    job.inputHeight, job.model, now.timeIntervalSince1970,
                ])
            guard let record = try Self.fetch(db, id: job.id) else { throw StoreError("job \(job.id) vanished") }
            return .queued(record)
        }
    }

    public func claim(worker: String, lease: TimeInterval, maxAttempts: Int, resultTTL: TimeInterval, now: Date)
        async throws -> JobRecord?
    {
        let t = now.timeIntervalSince1970
        return try await pool.write { db in
            // A job whose worker vanished after its last allowed attempt fails with the reason, instead of looping.
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'failed', finished_at = ?, lease_owner = NULL,
                        error_code = ?,
                        error_message = 'the worker running this job stopped ' || attempts || ' times; giving up',
                        expires_at = ?
                    WHERE status = 'running' AND lease_expires < ? AND attempts >= ?
                    """, arguments: [t, ErrorCode.workerLost.rawValue, t + resultTTL, t, maxAttempts])
            guard
                let id = try String.fetchOne(
                    db,
                    sql: """
                        SELECT candidate.id FROM jobs AS candidate
                        LEFT JOIN (SELECT owner, COUNT(*) AS running FROM jobs
                                   WHERE status = 'running' AND lease_expires >= :now GROUP BY owner) AS busy
                               ON busy.owner = candidate.owner
                        WHERE candidate.status = 'queued' OR (candidate.status = 'running' AND candidate.lease_expires < :now)
                        ORDER BY COALESCE(busy.running, 0), candidate.created_at, candidate.id
                        LIMIT 1
                        """, arguments: ["now": t])
            else { return nil }
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires = ?,
                        started_at = COALESCE(started_at, ?), progress = 0, step = NULL, tiles_done = NULL,
                        tiles_total = NULL
                    WHERE id = ?
                    """, arguments: [worker, t + lease, t, id])
            return try Self.fetch(db, id: id)
        }
    }

    public func heartbeat(id: String, worker: String, lease: TimeInterval, progress: JobProgress?, now: Date)
        async throws -> LeaseState
    {
        let t = now.timeIntervalSince1970
        return try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT status, lease_owner FROM jobs WHERE id = ?",
                    arguments: [id])
            else { return .lost }
            let status: String = row["status"]
            let owner: String? = row["lease_owner"]
            if status == JobStatus.canceled.rawValue { return .canceled }
            guard status == JobStatus.running.rawValue, owner == worker else { return .lost }
            if let progress {
                try db.execute(
                    sql: """
                        UPDATE jobs SET lease_expires = ?, progress = MAX(progress, ?), step = ?,
                            tiles_done = COALESCE(?, tiles_done), tiles_total = COALESCE(?, tiles_total)
                        WHERE id = ?
                        """,
                    arguments: [
                        t + lease, progress.fraction, progress.step, progress.tilesDone,
                        progress.tilesTotal, id,
                    ])
            } else {
                try db.execute(sql: "UPDATE jobs SET lease_expires = ? WHERE id = ?", arguments: [t + lease, id])
            }
            return .held
        }
    }

    public func finish(id: String, worker: String, outcome: JobOutcome, resultTTL: TimeInterval, now: Date)
        async throws -> JobRecord?
    {
        let t = now.timeIntervalSince1970
        return try await pool.write { db in
            guard let job = try Self.fetch(db, id: id), job.status == .running, job.leaseOwner == worker else {
                return nil
            }
            let inputMegapixels = Double(job.inputWidth * job.inputHeight) / 1e6
            switch outcome {
            case .succeeded(let result):
                try db.execute(
                    sql: """
                        UPDATE jobs SET status = 'succeeded', progress = 1, finished_at = ?, expires_at = ?,
                            lease_owner = NULL, result_path = ?, result_width = ?, result_height = ?, result_format = ?,
                            processing_seconds = ?, result_device = ?
                        WHERE id = ?
                        """,
                    arguments: [
                        t, t + resultTTL, result.path, result.width, result.height, result.format,
                        result.processingSeconds, result.device, id,
                    ])
                try Self.addUsage(
                    db, owner: job.owner, name: job.ownerName, succeeded: 1, failed: 0,
                    input: inputMegapixels, output: Double(result.width * result.height) / 1e6,
                    seconds: result.processingSeconds)
            case .failed(let code, let message):
                try db.execute(
                    sql: """
                        UPDATE jobs SET status = 'failed', finished_at = ?, expires_at = ?, lease_owner = NULL,
                            error_code = ?, error_message = ?
                        WHERE id = ?
                        """, arguments: [t, t + resultTTL, code.rawValue, message, id])
                let seconds = job.startedAt.map { now.timeIntervalSince($0) } ?? 0
                try Self.addUsage(
                    db, owner: job.owner, name: job.ownerName, succeeded: 0, failed: 1,
                    input: 0, output: 0, seconds: seconds)
            }
            return try Self.fetch(db, id: id)
        }
    }

    public func cancel(id: String, owner: String, resultTTL: TimeInterval, now: Date) async throws -> JobRecord? {
        let t = now.timeIntervalSince1970
        return try await pool.write { db in
            guard let job = try Self.fetch(db, id: id), job.owner == owner else { return nil }
            if job.status.isFinal { return job }
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'canceled', finished_at = ?, expires_at = ?, lease_owner = NULL,
                        error_code = ?, error_message = 'canceled by its owner'
                    WHERE id = ?
                    """, arguments: [t, t + resultTTL, ErrorCode.canceled.rawValue, id])
            return try Self.fetch(db, id: id)
        }
    }

    public func job(id: String, owner: String?) async throws -> JobRecord? {
        try await pool.read { db in
            guard let job = try Self.fetch(db, id: id) else { return nil }
            if let owner, job.owner != owner { return nil }
            return job
        }
    }

    public func queuedCount() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE status = 'queued'") ?? 0
        }
    }

    public func activeCount(owner: String) async throws -> Int {
        try await pool.read { db in try Self.activeCount(db, owner: owner) }
    }

    private static func activeCount(_ db: Database, owner: String) throws -> Int {
        try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND owner = ?",
            arguments: [owner]) ?? 0
    }

    public func takeRateToken(bucket: String, policy: RateLimitPolicy, now: Date) async throws -> RateLimitDecision {
        try await pool.write { db in
            let row = try Row.fetchOne(
                db, sql: TokenBucketStatement.sql { ":\($0)" },
                arguments: [
                    "bucket": bucket, "now": now.timeIntervalSince1970, "burst": Double(policy.burst),
                    "rate": policy.perSecond,
                ])
            guard let row else { throw StoreError("the rate limit bucket \(bucket) returned nothing") }
            return RateLimitDecision(allowed: (row["allowed"] as Int) == 1, level: row["tokens"], policy: policy)
        }
    }

    public func recordRequest(owner: String, name: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO usage (owner, owner_name, requests) VALUES (?, ?, 1)
                    ON CONFLICT(owner) DO UPDATE SET requests = requests + 1, owner_name = excluded.owner_name
                    """, arguments: [owner, name])
        }
    }

    public func usage(owner: String) async throws -> Usage? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM usage WHERE owner = ?", arguments: [owner])
            else { return nil }
            return Usage(
                ownerName: row["owner_name"], requests: row["requests"], jobsSucceeded: row["jobs_succeeded"],
                jobsFailed: row["jobs_failed"], inputMegapixels: row["input_megapixels"],
                outputMegapixels: row["output_megapixels"], computeSeconds: row["compute_seconds"])
        }
    }

    public func sweep(now: Date) async throws -> SweptJobs {
        let t = now.timeIntervalSince1970
        return try await pool.write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, input_path, result_path FROM jobs WHERE expires_at IS NOT NULL AND expires_at < ?
                    """, arguments: [t])
            try db.execute(sql: "DELETE FROM jobs WHERE expires_at IS NOT NULL AND expires_at < ?", arguments: [t])
            // Inputs of finished jobs are no longer needed; the rows stay until their results expire.
            let inputs = try String.fetchAll(
                db,
                sql: """
                    SELECT input_path FROM jobs WHERE status IN ('succeeded', 'failed', 'canceled') AND input_path != ''
                    """)
            try db.execute(
                sql: """
                    UPDATE jobs SET input_path = '' WHERE status IN ('succeeded', 'failed', 'canceled')
                    """)
            var files = inputs
            for row in rows {
                let input: String = row["input_path"]
                if !input.isEmpty { files.append(input) }
                if let result: String = row["result_path"] { files.append(result) }
            }
            return SweptJobs(jobIDs: rows.map { $0["id"] }, files: files)
        }
    }

    public func workerSeen(_ worker: String, now: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO workers (id, seen_at) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET seen_at = excluded.seen_at
                    """, arguments: [worker, now.timeIntervalSince1970])
        }
    }

    public func lastWorkerSeen() async throws -> Date? {
        try await pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MAX(seen_at) FROM workers").map { Date(timeIntervalSince1970: $0) }
        }
    }

    // MARK: - Rows

    private static func addUsage(
        _ db: Database, owner: String, name: String, succeeded: Int, failed: Int,
        input: Double, output: Double, seconds: Double
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO usage (owner, owner_name, jobs_succeeded, jobs_failed, input_megapixels, output_megapixels,
                                   compute_seconds)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(owner) DO UPDATE SET jobs_succeeded = jobs_succeeded + excluded.jobs_succeeded,
                    jobs_failed = jobs_failed + excluded.jobs_failed,
                    input_megapixels = input_megapixels + excluded.input_megapixels,
                    output_megapixels = output_megapixels + excluded.output_megapixels,
                    compute_seconds = compute_seconds + excluded.compute_seconds
                """, arguments: [owner, name, succeeded, failed, input, output, seconds])
    }

    private static func fetch(_ db: Database, id: String) throws -> JobRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]) else {
            return nil
        }
        func date(_ column: String) -> Date? {
            (row[column] as Double?).map { Date(timeIntervalSince1970: $0) }
        }
        var result: JobResult?
        if let path: String = row["result_path"] {
            result = JobResult(
                path: path, width: row["result_width"], height: row["result_height"],
                format: row["result_format"], processingSeconds: row["processing_seconds"] ?? 0,
                device: row["result_device"])
        }
        return JobRecord(
            id: row["id"], owner: row["owner"], ownerName: row["owner_name"],
            status: JobStatus(rawValue: row["status"]) ?? .failed, request: row["request"],
            inputPath: row["input_path"], inputWidth: row["input_width"], inputHeight: row["input_height"],
            model: row["model"], progress: row["progress"], step: row["step"], tilesDone: row["tiles_done"],
            tilesTotal: row["tiles_total"], attempts: row["attempts"], leaseOwner: row["lease_owner"],
            leaseExpires: date("lease_expires"), createdAt: date("created_at") ?? Date(timeIntervalSince1970: 0),
            startedAt: date("started_at"), finishedAt: date("finished_at"), expiresAt: date("expires_at"),
            result: result, errorCode: (row["error_code"] as String?).map(ErrorCode.init(stored:)),
            errorMessage: row["error_message"])
    }
}
