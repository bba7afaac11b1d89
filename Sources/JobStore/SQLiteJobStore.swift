public import Foundation
internal import GRDB

/// The embedded ``JobStore``: one SQLite file in WAL mode, shared safely by an api and a worker process on the same
/// machine, or a database in memory (``inMemory()``). Every state change is one transaction, so a crash at any
/// point leaves either the old state or the new. The transitions are ``JobStateMachine``'s.
public final class SQLiteJobStore: JobStore {
    private let writer: any DatabaseWriter

    /// Opens (creating and migrating if needed) the database at `path`.
    public convenience init(path: String) throws {
        var configuration = Configuration()
        // Another process (api or worker) may hold the write lock for a moment.
        configuration.busyMode = .timeout(10)
        configuration.label = "jobs"
        try self.init(writer: try DatabasePool(path: path, configuration: configuration))
    }

    /// A store in this process's memory, gone with it: for tests and for trying the service without files.
    public static func inMemory() throws -> SQLiteJobStore {
        var configuration = Configuration()
        configuration.label = "jobs"
        return try SQLiteJobStore(writer: try DatabaseQueue(configuration: configuration))
    }

    /// A write transaction; a full disk becomes a ``StoreError`` that says so.
    private func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.write(updates)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw StoreError("the job database's disk is full", storageFull: true)
        }
    }

    private init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
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
            try db.execute(sql: JobStateMachine.createRateBuckets)
            try db.execute(sql: "CREATE INDEX jobs_by_owner ON jobs (owner, status)")
        }
        migrator.registerMigration("v3: the device a job ran on") { db in
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN result_device TEXT")
        }
        migrator.registerMigration("v4: crashes counted against inputs") { db in
            for statement in JobStateMachine.crashesMigration { try db.execute(sql: statement) }
        }
        return migrator
    }

    public func enqueue(_ job: NewJob, limits: QueueLimits, now: Date) async throws -> EnqueueResult {
        // One write transaction: SQLite lets one writer in at a time, so the counts cannot change before the insert.
        try await write { db in
            if let most = limits.maxQueued {
                let queued = try Self.count(db, JobStateMachine.queuedCount)
                if queued >= most { return .queueFull(queued: queued) }
            }
            if let most = limits.maxActivePerOwner {
                let active = try Self.count(db, JobStateMachine.activeCount(owner: job.owner))
                if active >= most { return .ownerAtLimit(active: active) }
            }
            try db.execute(JobStateMachine.enqueue(job, now: now))
            guard let record = try Self.fetch(db, id: job.id) else { throw StoreError("job \(job.id) vanished") }
            return .queued(record)
        }
    }

    public func claim(worker: String, lease: TimeInterval, maxAttempts: Int, resultTTL: TimeInterval, now: Date)
        async throws -> JobRecord?
    {
        try await write { db in
            let lost = JobStateMachine.requeueLostJobs(now: now)
            for digest in try String?.fetchAll(db, sql: lost.sql, arguments: lost.arguments).compactMap({ $0 }) {
                try db.execute(JobStateMachine.countCrash(inputDigest: digest, now: now))
            }
            try db.execute(JobStateMachine.giveUpLostJobs(maxAttempts: maxAttempts, resultTTL: resultTTL, now: now))
            try db.execute(JobStateMachine.giveUpCrashingInputs(resultTTL: resultTTL, now: now))
            let next = JobStateMachine.nextJob(now: now)
            guard let id = try String.fetchOne(db, sql: next.sql, arguments: next.arguments) else { return nil }
            try db.execute(JobStateMachine.take(id: id, worker: worker, lease: lease, now: now))
            return try Self.fetch(db, id: id)
        }
    }

    public func heartbeat(id: String, worker: String, lease: TimeInterval, progress: JobProgress?, now: Date)
        async throws -> LeaseState
    {
        try await write { db in
            let renew = JobStateMachine.renew(id: id, worker: worker, lease: lease, progress: progress, now: now)
            if try Row.fetchOne(db, sql: renew.sql, arguments: renew.arguments) != nil { return .held }
            let holder = JobStateMachine.leaseHolder(id: id)
            let row = try Row.fetchOne(db, sql: holder.sql, arguments: holder.arguments)
            return JobStateMachine.leaseState(status: row?["status"], holder: row?["lease_owner"], worker: worker)
        }
    }

    public func finish(id: String, worker: String, outcome: JobOutcome, resultTTL: TimeInterval, now: Date)
        async throws -> JobRecord?
    {
        try await write { db in
            guard let job = try Self.fetch(db, id: id), JobStateMachine.mayFinish(job, worker: worker) else {
                return nil
            }
            try db.execute(JobStateMachine.finish(job, outcome: outcome, resultTTL: resultTTL, now: now))
            try db.execute(JobStateMachine.usage(of: job, outcome: outcome, now: now))
            return try Self.fetch(db, id: id)
        }
    }

    public func release(id: String, worker: String) async throws {
        try await write { db in try db.execute(JobStateMachine.release(id: id, worker: worker)) }
    }

    public func cancel(id: String, owner: String, resultTTL: TimeInterval, now: Date) async throws -> JobRecord? {
        try await write { db in
            let job = try Self.fetch(db, id: id)
            switch JobStateMachine.cancelRule(job, owner: owner) {
            case .notFound: return nil
            case .unchanged: return job
            case .cancel:
                try db.execute(JobStateMachine.cancel(id: id, resultTTL: resultTTL, now: now))
                return try Self.fetch(db, id: id)
            }
        }
    }

    public func job(id: String, owner: String?) async throws -> JobRecord? {
        try await writer.read { db in
            guard let job = try Self.fetch(db, id: id) else { return nil }
            if let owner, job.owner != owner { return nil }
            return job
        }
    }

    public func crashes(inputDigest: String) async throws -> Int {
        try await writer.read { db in try Self.count(db, JobStateMachine.crashes(inputDigest: inputDigest)) }
    }

    public func queuedCount() async throws -> Int {
        try await writer.read { db in try Self.count(db, JobStateMachine.queuedCount) }
    }

    public func activeCount(owner: String) async throws -> Int {
        try await writer.read { db in try Self.count(db, JobStateMachine.activeCount(owner: owner)) }
    }

    private static func count(_ db: Database, _ statement: JobStatement) throws -> Int {
        try Int.fetchOne(db, sql: statement.sql, arguments: statement.arguments) ?? 0
    }

    public func takeRateToken(bucket: String, policy: RateLimitPolicy, now: Date) async throws -> RateLimitDecision {
        try await write { db in
            let statement = JobStateMachine.takeRateToken(bucket: bucket, policy: policy, now: now)
            let row = try Row.fetchOne(db, sql: statement.sql, arguments: statement.arguments)
            guard let row else { throw StoreError("the rate limit bucket \(bucket) returned nothing") }
            return RateLimitDecision(allowed: (row["allowed"] as Int) == 1, level: row["tokens"], policy: policy)
        }
    }

    public func recordRequest(owner: String, name: String) async throws {
        try await write { db in try db.execute(JobStateMachine.recordRequest(owner: owner, name: name)) }
    }

    public func usage(owner: String) async throws -> Usage? {
        try await writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM usage WHERE owner = ?", arguments: [owner])
            else { return nil }
            return Usage(
                ownerName: row["owner_name"], requests: row["requests"], jobsSucceeded: row["jobs_succeeded"],
                jobsFailed: row["jobs_failed"], inputMegapixels: row["input_megapixels"],
                outputMegapixels: row["output_megapixels"], computeSeconds: row["compute_seconds"])
        }
    }

    public func sweep(now: Date) async throws -> SweptJobs {
        try await write { db in
            let expire = JobStateMachine.expire(now: now)
            let rows = try Row.fetchAll(db, sql: expire.sql, arguments: expire.arguments)
            // One writer at a time: the inputs read here are the ones cleared next.
            let inputs = try String.fetchAll(
                db, sql: "SELECT input_path FROM jobs WHERE \(JobStateMachine.finishedStates)")
            try db.execute(sql: "UPDATE jobs SET input_path = '' WHERE \(JobStateMachine.finishedStates)")
            try db.execute(JobStateMachine.forgetCrashes(now: now))
            var files = inputs
            for row in rows {
                let input: String = row["input_path"]
                if !input.isEmpty { files.append(input) }
                if let result: String = row["result_path"] { files.append(result) }
            }
            return SweptJobs(jobIDs: rows.map { $0["id"] }, files: files)
        }
    }

    public func referencedBlobs() async throws -> Set<String> {
        try await writer.read { db in
            Set(try String.fetchAll(db, sql: JobStateMachine.referencedBlobs.sql))
        }
    }

    public func workerSeen(_ worker: String, now: Date) async throws {
        try await write { db in try db.execute(JobStateMachine.workerSeen(worker, now: now)) }
    }

    public func lastWorkerSeen() async throws -> Date? {
        try await writer.read { db in
            try Double.fetchOne(db, sql: JobStateMachine.lastWorkerSeen.sql).map { Date(timeIntervalSince1970: $0) }
        }
    }

    // MARK: - Rows

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

extension Database {
    fileprivate func execute(_ statement: JobStatement) throws {
        try execute(sql: statement.sql, arguments: statement.arguments)
    }
}

extension JobStatement {
    fileprivate var arguments: StatementArguments {
        StatementArguments(
            values.mapValues { value -> (any DatabaseValueConvertible)? in
                switch value {
                case .text(let text): text
                case .real(let real): real
                case .integer(let integer): integer
                case .blob(let data): data
                }
            })
    }
}
