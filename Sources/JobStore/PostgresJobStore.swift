public import Foundation
public import Logging
internal import NIOSSL
import Synchronization
internal import PostgresNIO

/// The scale-out ``JobStore``: one PostgreSQL database shared by any number of api and worker processes on any number
/// of machines. It keeps the same state machine as ``SQLiteJobStore``; a claim locks the row it takes with
/// `FOR UPDATE SKIP LOCKED`, so concurrent workers never take the same job and never wait on each other.
///
/// The client's connection pool must run: call ``run()`` in a long-lived task (it is a swift-service-lifecycle
/// service in the server) before using the store.
public final class PostgresJobStore: JobStore, BlobStore {
    private let client: PostgresClient
    private let logger: Logger
    private let schema: String

    /// `url` is `postgres://user:password@host:port/database[?schema=name&sslmode=mode&sslrootcert=file]`.
    /// - The schema (letters, digits and `_`, default `public`, or `schema` here) holds the tables, which lets tests
    ///   have a fresh store each.
    /// - `sslmode` means what it means to libpq: `disable`; `allow` or `prefer` (the default: TLS if the server offers
    ///   it, unverified); `require` (TLS, unverified); `verify-ca` (TLS, the certificate checked against
    ///   `sslrootcert` or the system's roots); `verify-full` (that, and the host name too).
    public init(url: String, schema: String? = nil, logger: Logger) throws {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
              let host = parts.host, !host.isEmpty else {
            throw StoreError("the database URL must look like postgres://user:password@host:5432/database")
        }
        var query: [String: String] = [:]
        for item in parts.queryItems ?? [] {
            guard ["schema", "sslmode", "sslrootcert"].contains(item.name) else {
                throw StoreError("the database URL has \(item.name)=; the options read are schema, sslmode and sslrootcert")
            }
            query[item.name] = item.value ?? ""
        }
        let schema = schema ?? query["schema"] ?? "public"
        guard !schema.isEmpty, schema.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw StoreError("the schema name must be letters, digits and _")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: parts.user ?? "postgres",
            password: parts.password, database: String(parts.path.dropFirst()).nilIfEmpty,
            tls: try Self.tls(mode: query["sslmode"] ?? "prefer", rootCertificates: query["sslrootcert"]))
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.schema = schema
    }

    private static func tls(mode: String, rootCertificates: String?) throws -> PostgresClient.Configuration.TLS {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        var verified = TLSConfiguration.makeClientConfiguration()
        if let rootCertificates { verified.trustRoots = .file(rootCertificates) }
        switch mode {
        case "disable": return .disable
        case "allow", "prefer": return .prefer(unverified)
        case "require": return .require(unverified)
        case "verify-ca":
            verified.certificateVerification = .noHostnameVerification
            return .require(verified)
        case "verify-full":
            verified.certificateVerification = .fullVerification
            return .require(verified)
        default:
            throw StoreError("sslmode=\(mode): expected disable, allow, prefer, require, verify-ca or verify-full")
        }
    }

    /// Runs the connection pool until the task is cancelled.
    public func run() async {
        poolStarted.store(true, ordering: .releasing)
        await client.run()
    }

    private let poolStarted = Atomic<Bool>(false)

    /// Calls made in the instant between starting ``run()`` in a task and the pool running wait for it (the client
    /// would otherwise warn about a lease before `run()`); after 5 s they go ahead and let the client say why.
    private func untilPoolRuns() async {
        for _ in 0..<5000 where !poolStarted.load(ordering: .acquiring) {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Creates or upgrades the tables, one numbered step at a time, each in its own transaction and recorded in
    /// `schema_migrations`, under an advisory lock so that concurrent starts and `upscaler migrate` agree.
    public func migrate() async throws {
        await untilPoolRuns()
        try await client.withConnection { connection in
            // Processes starting together take turns: a session advisory lock, held on this one connection, makes
            // even `CREATE SCHEMA IF NOT EXISTS` safe (it races on its own). The key names this schema only.
            let key = "hashtext('upscaler.migrate'), hashtext('\(schema)')"   // the schema name is letters, digits, _
            try await drain(connection.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_lock(\(key))"), logger: logger))
            do {
                try await applyMigrations(connection)
            } catch {
                _ = try? await drain(connection.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_unlock(\(key))"),
                                                      logger: logger))
                throw error
            }
            try await drain(connection.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_unlock(\(key))"), logger: logger))
        }
    }

    private func applyMigrations(_ connection: PostgresConnection) async throws {
        try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
        try await connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)", logger: logger)
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

    /// The setting `name` as the database has it: `proposing` if no process has set it yet.
    public func agree(on name: String, proposing value: String) async throws -> String {
        try await shielded { [self] in
            try await client.query("INSERT INTO settings (name, value) VALUES (\(name), \(value)) ON CONFLICT (name) DO NOTHING",
                                   logger: logger)
            var agreed = value
            for try await stored in try await client.query("SELECT value FROM settings WHERE name = \(name)",
                                                           logger: logger).decode(String.self) {
                agreed = stored
            }
            return agreed
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
            "CREATE TABLE blobs (key TEXT PRIMARY KEY, data BYTEA NOT NULL, created_at DOUBLE PRECISION NOT NULL)",
        ],
        [
            // Per-token request buckets shared by every api process; counting an owner's jobs for the cap and for
            // the fair claim order.
            TokenBucketStatement.createTable,
            "CREATE INDEX jobs_by_owner ON jobs (owner, status)",
            // Choices every process must share, set by the first to start.
            "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ],
        [
            // Where each job's model ran (`cpu` or `gpu:N`), for its timings.
            "ALTER TABLE jobs ADD COLUMN result_device TEXT",
        ],
    ]

    public func enqueue(_ job: NewJob, limits: QueueLimits, now: Date) async throws -> EnqueueResult {
        try await shielded { [self] in
            let request = job.request
            return try await client.withTransaction(logger: logger) { connection in
                if let most = limits.maxQueued {
                    let queued = try await count(connection.query(
                        "SELECT COUNT(*) FROM jobs WHERE status = 'queued'", logger: logger))
                    if queued >= most { return .queueFull(queued: queued) }
                }
                if let most = limits.maxActivePerOwner {
                    // Requests of one owner take turns here until commit, on every api process, so the count they
                    // read cannot be stale when they insert. Other owners do not wait.
                    try await drain(connection.query(
                        "SELECT pg_advisory_xact_lock(hashtext(\(ownerLockSpace)), hashtext(\(job.owner)))", logger: logger))
                    let active = try await count(connection.query(
                        "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND owner = \(job.owner)",
                        logger: logger))
                    if active >= most { return .ownerAtLimit(active: active) }
                }
                try await connection.query("""
                    INSERT INTO jobs (id, owner, owner_name, status, request, input_path, input_width, input_height,
                                      model, created_at)
                    VALUES (\(job.id), \(job.owner), \(job.ownerName), 'queued', \(request), \(job.inputPath),
                            \(job.inputWidth), \(job.inputHeight), \(job.model), \(now.timeIntervalSince1970))
                    """, logger: logger)
                // Wakes idle workers everywhere at commit (see listenForQueuedJobs).
                try await drain(connection.query("SELECT pg_notify(\(channelName), \(job.id))", logger: logger))
                guard let record = try await fetch(connection, id: job.id) else { throw StoreError("job \(job.id) vanished") }
                return .queued(record)
            }
        }
    }

    /// Advisory lock keys are two numbers; both locks name the schema, so that separate stores in one database
    /// (tests, benchmarks) never wait on each other.
    private var ownerLockSpace: String { "upscaler.enqueue.\(schema)" }

    /// Reads a row stream to its end.
    private func drain(_ rows: PostgresRowSequence) async throws {
        for try await _ in rows {}
    }

    /// The NOTIFY channel for queued jobs; one per schema, so that separate schemas (tests) do not wake each other.
    private var channelName: String { "upscaler_jobs_\(schema)" }

    public func listenForQueuedJobs(_ onJob: @escaping @Sendable () -> Void) async throws {
        await untilPoolRuns()
        try await client.withConnection { connection in
            try await connection.listen(on: channelName) { notifications in
                for try await _ in notifications { onJob() }
            }
        }
    }

    public func claim(worker: String, lease: TimeInterval, maxAttempts: Int, resultTTL: TimeInterval, now: Date)
        async throws -> JobRecord?
    {
        try await shielded { [self] in
            let t = now.timeIntervalSince1970
            return try await client.withTransaction(logger: logger) { connection in
                try await connection.query("""
                    UPDATE jobs SET status = 'failed', finished_at = \(t), lease_owner = NULL, error_code = 'worker_lost',
                        error_message = 'the worker running this job stopped ' || attempts || ' times; giving up',
                        expires_at = \(t + resultTTL)
                    WHERE status = 'running' AND lease_expires < \(t) AND attempts >= \(maxAttempts)
                    """, logger: logger)
                let candidates = try await connection.query("""
                    SELECT candidate.id FROM jobs AS candidate
                    LEFT JOIN (SELECT owner, COUNT(*) AS running FROM jobs
                               WHERE status = 'running' AND lease_expires >= \(t) GROUP BY owner) AS busy
                           ON busy.owner = candidate.owner
                    WHERE candidate.status = 'queued' OR (candidate.status = 'running' AND candidate.lease_expires < \(t))
                    ORDER BY COALESCE(busy.running, 0), candidate.created_at, candidate.id
                    LIMIT 1 FOR UPDATE OF candidate SKIP LOCKED
                    """, logger: logger)
                var id: String?
                for try await row in candidates { id = try row.decode(String.self) }
                guard let id else { return nil }
                try await connection.query("""
                    UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = \(worker),
                        lease_expires = \(t + lease), started_at = COALESCE(started_at, \(t)), progress = 0, step = NULL,
                        tiles_done = NULL, tiles_total = NULL
                    WHERE id = \(id)
                    """, logger: logger)
                return try await fetch(connection, id: id)
            }
        }
    }

    public func heartbeat(id: String, worker: String, lease: TimeInterval, progress: JobProgress?, now: Date)
        async throws -> LeaseState
    {
        try await shielded { [self] in
            let t = now.timeIntervalSince1970
            // Extend the lease only while this worker holds the running job. The UPDATE sees a cancel committed
            // while it waited for the row, so a row back means held; only otherwise is the job read again.
            let renewed: PostgresRowSequence
            if let progress {
                renewed = try await client.query("""
                    UPDATE jobs SET lease_expires = \(t + lease), progress = GREATEST(progress, \(progress.fraction)),
                        step = \(progress.step), tiles_done = COALESCE(\(progress.tilesDone), tiles_done),
                        tiles_total = COALESCE(\(progress.tilesTotal), tiles_total)
                    WHERE id = \(id) AND status = 'running' AND lease_owner = \(worker) RETURNING id
                    """, logger: logger)
            } else {
                renewed = try await client.query("""
                    UPDATE jobs SET lease_expires = \(t + lease)
                    WHERE id = \(id) AND status = 'running' AND lease_owner = \(worker) RETURNING id
                    """, logger: logger)
            }
            var held = false
            for try await _ in renewed { held = true }
            if held { return .held }
            let rows = try await client.query("SELECT status, lease_owner FROM jobs WHERE id = \(id)", logger: logger)
            var state = LeaseState.lost
            for try await (status, owner) in rows.decode((String, String?).self) {
                if status == JobStatus.canceled.rawValue { state = .canceled }
                else if status == JobStatus.running.rawValue && owner == worker { state = .held }
            }
            return state
        }
    }

    public func finish(id: String, worker: String, outcome: JobOutcome, resultTTL: TimeInterval, now: Date)
        async throws -> JobRecord?
    {
        try await shielded { [self] in
            let t = now.timeIntervalSince1970
            return try await client.withTransaction(logger: logger) { connection in
                let locked = try await connection.query("SELECT id FROM jobs WHERE id = \(id) FOR UPDATE", logger: logger)
                for try await _ in locked {}
                guard let job = try await fetch(connection, id: id), job.status == .running, job.leaseOwner == worker else {
                    return nil
                }
                let inputMegapixels = Double(job.inputWidth * job.inputHeight) / 1e6
                switch outcome {
                case .succeeded(let result):
                    try await connection.query("""
                        UPDATE jobs SET status = 'succeeded', progress = 1, finished_at = \(t), expires_at = \(t + resultTTL),
                            lease_owner = NULL, result_path = \(result.path), result_width = \(result.width),
                            result_height = \(result.height), result_format = \(result.format),
                            processing_seconds = \(result.processingSeconds), result_device = \(result.device)
                        WHERE id = \(id)
                        """, logger: logger)
                    try await addUsage(connection, owner: job.owner, name: job.ownerName, succeeded: 1, failed: 0,
                                       input: inputMegapixels, output: Double(result.width * result.height) / 1e6,
                                       seconds: result.processingSeconds)
                case .failed(let code, let message):
                    try await connection.query("""
                        UPDATE jobs SET status = 'failed', finished_at = \(t), expires_at = \(t + resultTTL),
                            lease_owner = NULL, error_code = \(code), error_message = \(message)
                        WHERE id = \(id)
                        """, logger: logger)
                    let seconds = job.startedAt.map { now.timeIntervalSince($0) } ?? 0
                    try await addUsage(connection, owner: job.owner, name: job.ownerName, succeeded: 0, failed: 1,
                                       input: 0, output: 0, seconds: seconds)
                }
                return try await fetch(connection, id: id)
            }
        }
    }

    public func cancel(id: String, owner: String, resultTTL: TimeInterval, now: Date) async throws -> JobRecord? {
        try await shielded { [self] in
            let t = now.timeIntervalSince1970
            return try await client.withTransaction(logger: logger) { connection in
                let locked = try await connection.query("SELECT id FROM jobs WHERE id = \(id) FOR UPDATE", logger: logger)
                for try await _ in locked {}
                guard let job = try await fetch(connection, id: id), job.owner == owner else { return nil }
                if job.status.isFinal { return job }
                try await connection.query("""
                    UPDATE jobs SET status = 'canceled', finished_at = \(t), expires_at = \(t + resultTTL),
                        lease_owner = NULL, error_code = 'canceled', error_message = 'canceled by its owner'
                    WHERE id = \(id)
                    """, logger: logger)
                return try await fetch(connection, id: id)
            }
        }
    }

    public func job(id: String, owner: String?) async throws -> JobRecord? {
        try await shielded { [self] in
            guard let job = try await fetch(client, id: id) else { return nil }
            if let owner, job.owner != owner { return nil }
            return job
        }
    }

    public func queuedCount() async throws -> Int {
        try await shielded { [self] in
            try await count(client.query("SELECT COUNT(*) FROM jobs WHERE status = 'queued'", logger: logger))
        }
    }

    public func activeCount(owner: String) async throws -> Int {
        try await shielded { [self] in
            try await count(client.query(
                "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND owner = \(owner)", logger: logger))
        }
    }

    private func count(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await value in rows.decode(Int.self) { count = value }
        return count
    }

    public func takeRateToken(bucket: String, policy: RateLimitPolicy, now: Date) async throws -> RateLimitDecision {
        try await shielded { [self] in
            let order = ["bucket", "now", "burst", "rate"]
            var binds = PostgresBindings()
            binds.append(bucket)
            binds.append(now.timeIntervalSince1970)
            binds.append(Double(policy.burst))
            binds.append(policy.perSecond)
            let sql = TokenBucketStatement.sql { "$\(order.firstIndex(of: $0)! + 1)" }
            let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
            var decision: RateLimitDecision?
            for try await (tokens, allowed) in rows.decode((Double, Int32).self) {
                decision = RateLimitDecision(allowed: allowed == 1, level: tokens, policy: policy)
            }
            guard let decision else { throw StoreError("the rate limit bucket \(bucket) returned nothing") }
            return decision
        }
    }

    public func recordRequest(owner: String, name: String) async throws {
        try await shielded { [self] in
            try await client.query("""
                INSERT INTO usage (owner, owner_name, requests) VALUES (\(owner), \(name), 1)
                ON CONFLICT (owner) DO UPDATE SET requests = usage.requests + 1, owner_name = excluded.owner_name
                """, logger: logger)
        }
    }

    public func usage(owner: String) async throws -> Usage? {
        try await shielded { [self] in
            let rows = try await client.query("""
                SELECT owner_name, requests, jobs_succeeded, jobs_failed, input_megapixels, output_megapixels,
                       compute_seconds FROM usage WHERE owner = \(owner)
                """, logger: logger)
            var usage: Usage?
            for try await (name, requests, succeeded, failed, input, output, seconds)
                in rows.decode((String, Int, Int, Int, Double, Double, Double).self) {
                usage = Usage(ownerName: name, requests: requests, jobsSucceeded: succeeded, jobsFailed: failed,
                              inputMegapixels: input, outputMegapixels: output, computeSeconds: seconds)
            }
            return usage
        }
    }

    public func sweep(now: Date) async throws -> SweptJobs {
        try await shielded { [self] in
            let t = now.timeIntervalSince1970
            return try await client.withTransaction(logger: logger) { connection in
                var ids: [String] = [], files: [String] = []
                let expired = try await connection.query("""
                    DELETE FROM jobs WHERE expires_at IS NOT NULL AND expires_at < \(t)
                    RETURNING id, input_path, result_path
                    """, logger: logger)
                for try await (id, input, result) in expired.decode((String, String, String?).self) {
                    ids.append(id)
                    if !input.isEmpty { files.append(input) }
                    if let result { files.append(result) }
                }
                // Inputs of finished jobs are no longer needed; the rows stay until their results expire. One
                // statement clears exactly the paths it returns, so a job finishing meanwhile keeps its path for the
                // next sweep.
                let finished = try await connection.query("""
                    UPDATE jobs SET input_path = '' FROM (
                        SELECT id, input_path AS old_path FROM jobs
                        WHERE status IN ('succeeded', 'failed', 'canceled') AND input_path != '' FOR UPDATE) AS done
                    WHERE jobs.id = done.id
                    RETURNING done.old_path
                    """, logger: logger)
                var inputs: [String] = []
                for try await old in finished.decode(String.self) { inputs.append(old) }
                return SweptJobs(jobIDs: ids, files: inputs + files)
            }
        }
    }

    public func workerSeen(_ worker: String, now: Date) async throws {
        try await shielded { [self] in
            try await client.query("""
                INSERT INTO workers (id, seen_at) VALUES (\(worker), \(now.timeIntervalSince1970))
                ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at
                """, logger: logger)
        }
    }

    public func lastWorkerSeen() async throws -> Date? {
        try await shielded { [self] in
            let rows = try await client.query("SELECT MAX(seen_at) FROM workers", logger: logger)
            var latest: Double?
            for try await value in rows.decode(Double?.self) { latest = value }
            return latest.map { Date(timeIntervalSince1970: $0) }
        }
    }

    // MARK: - Shielding

    /// Runs `body` in a task of its own, so that a caller's cancellation (a client that hangs up, a worker's lease
    /// renewer being stopped) never stops a statement or a transaction half-way.
    @discardableResult
    private func shielded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await Task {
            await untilPoolRuns()
            return try await body()
        }.value
    }

    // MARK: - Blobs

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        try await shielded { [self] in
            let data = Data(bytes)   // Data binds as bytea ([UInt8] would bind as an array of "char")
            try await client.query("""
                INSERT INTO blobs (key, data, created_at) VALUES (\(key), \(data), \(Date().timeIntervalSince1970))
                ON CONFLICT (key) DO UPDATE SET data = excluded.data, created_at = excluded.created_at
                """, logger: logger)
        }
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        try await shielded { [self] in
            let rows = try await client.query("SELECT data FROM blobs WHERE key = \(key)", logger: logger)
            var found: Data?
            for try await data in rows.decode(Data.self) { found = data }
            return found.map { Array($0) }
        }
    }

    public func delete(_ keys: [String]) async throws {
        try await shielded { [self] in
            guard !keys.isEmpty else { return }
            try await client.query("DELETE FROM blobs WHERE key = ANY(\(keys))", logger: logger)
        }
    }

    // MARK: - Rows

    private func addUsage(_ connection: PostgresConnection, owner: String, name: String, succeeded: Int, failed: Int,
                          input: Double, output: Double, seconds: Double) async throws {
        try await connection.query("""
            INSERT INTO usage (owner, owner_name, jobs_succeeded, jobs_failed, input_megapixels, output_megapixels,
                               compute_seconds)
            VALUES (\(owner), \(name), \(succeeded), \(failed), \(input), \(output), \(seconds))
            ON CONFLICT (owner) DO UPDATE SET jobs_succeeded = usage.jobs_succeeded + excluded.jobs_succeeded,
                jobs_failed = usage.jobs_failed + excluded.jobs_failed,
                input_megapixels = usage.input_megapixels + excluded.input_megapixels,
                output_megapixels = usage.output_megapixels + excluded.output_megapixels,
                compute_seconds = usage.compute_seconds + excluded.compute_seconds
            """, logger: logger)
    }

    private static let columns = """
        id, owner, owner_name, status, request, input_path, input_width, input_height, model, progress, step,
        tiles_done, tiles_total, attempts, lease_owner, lease_expires, created_at, started_at, finished_at, expires_at,
        result_path, result_width, result_height, result_format, processing_seconds, result_device, error_code,
        error_message
        """

    private func fetch(_ client: PostgresClient, id: String) async throws -> JobRecord? {
        try await client.withConnection { try await fetch($0, id: id) }
    }

    private func fetch(_ connection: PostgresConnection, id: String) async throws -> JobRecord? {
        let rows = try await connection.query("SELECT \(unescaped: Self.columns) FROM jobs WHERE id = \(id)",
                                              logger: logger)
        // The stream is read to its end (a row stream dropped early is cancelled, which costs a round trip).
        var record: JobRecord?
        for try await row in rows {
            let r = row.makeRandomAccess()
            func date(_ name: String) throws -> Date? {
                try r[name].decode(Double?.self).map { Date(timeIntervalSince1970: $0) }
            }
            var result: JobResult?
            if let path = try r["result_path"].decode(String?.self) {
                result = JobResult(path: path, width: try r["result_width"].decode(Int.self),
                                   height: try r["result_height"].decode(Int.self),
                                   format: try r["result_format"].decode(String.self),
                                   processingSeconds: try r["processing_seconds"].decode(Double?.self) ?? 0,
                                   device: try r["result_device"].decode(String?.self))
            }
            record = JobRecord(
                id: try r["id"].decode(String.self), owner: try r["owner"].decode(String.self),
                ownerName: try r["owner_name"].decode(String.self),
                status: JobStatus(rawValue: try r["status"].decode(String.self)) ?? .failed,
                request: try r["request"].decode(Data.self),
                inputPath: try r["input_path"].decode(String.self), inputWidth: try r["input_width"].decode(Int.self),
                inputHeight: try r["input_height"].decode(Int.self), model: try r["model"].decode(String.self),
                progress: try r["progress"].decode(Double.self), step: try r["step"].decode(String?.self),
                tilesDone: try r["tiles_done"].decode(Int?.self), tilesTotal: try r["tiles_total"].decode(Int?.self),
                attempts: try r["attempts"].decode(Int.self), leaseOwner: try r["lease_owner"].decode(String?.self),
                leaseExpires: try date("lease_expires"),
                createdAt: try date("created_at") ?? Date(timeIntervalSince1970: 0),
                startedAt: try date("started_at"), finishedAt: try date("finished_at"),
                expiresAt: try date("expires_at"), result: result,
                errorCode: try r["error_code"].decode(String?.self),
                errorMessage: try r["error_message"].decode(String?.self))
        }
        return record
    }
}

/// A store failure with a plain message.
public struct StoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
