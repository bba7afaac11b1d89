public import Foundation
import Logging
internal import NIOSSL
internal import PostgresNIO
import Synchronization

extension PostgresJobStore {
    public func enqueue(_ job: NewJob, limits: QueueLimits, now: Date) async throws -> EnqueueResult {
        try await shielded { [self] in
            let request = job.request
            return try await client.withTransaction(logger: logger) { connection in
                if let most = limits.maxQueued {
                    let queued = try await count(
                        connection.query(
                            "SELECT COUNT(*) FROM jobs WHERE status = 'queued'", logger: logger))
                    if queued >= most { return .queueFull(queued: queued) }
                }
                if let most = limits.maxActivePerOwner {
                    // Requests of one owner take turns here until commit, on every api process, so the count they
                    // read cannot be stale when they insert. Other owners do not wait.
                    try await drain(
                        connection.query(
                            "SELECT pg_advisory_xact_lock(hashtext(\(ownerLockSpace)), hashtext(\(job.owner)))",
                            logger: logger))
                    let active = try await count(
                        connection.query(
                            "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND owner = \(job.owner)",
                            logger: logger))
                    if active >= most { return .ownerAtLimit(active: active) }
                }
                try await connection.query(
                    """
                    INSERT INTO jobs (id, owner, owner_name, status, request, input_path, input_width, input_height,
                                      model, created_at)
                    VALUES (\(job.id), \(job.owner), \(job.ownerName), 'queued', \(request), \(job.inputPath),
                            \(job.inputWidth), \(job.inputHeight), \(job.model), \(now.timeIntervalSince1970))
                    """, logger: logger)
                // Wakes idle workers everywhere at commit (see listenForQueuedJobs).
                try await drain(connection.query("SELECT pg_notify(\(channelName), \(job.id))", logger: logger))
                guard let record = try await fetch(connection, id: job.id) else {
                    throw StoreError("job \(job.id) vanished")
                }
                return .queued(record)
            }
        }
    }

    /// Advisory lock keys are two numbers; both locks name the schema, so that separate stores in one database
    /// (tests, benchmarks) never wait on each other.
    private var ownerLockSpace: String { "upscaler.enqueue.\(schema)" }

    /// Reads a row stream to its end.
    func drain(_ rows: PostgresRowSequence) async throws {
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
                try await connection.query(
                    """
                    UPDATE jobs SET status = 'failed', finished_at = \(t), lease_owner = NULL, error_code = \(ErrorCode.workerLost.rawValue),
                        error_message = 'the worker running this job stopped ' || attempts || ' times; giving up',
                        expires_at = \(t + resultTTL)
                    WHERE status = 'running' AND lease_expires < \(t) AND attempts >= \(maxAttempts)
                    """, logger: logger)
                let candidates = try await connection.query(
                    """
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
                try await connection.query(
                    """
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
                renewed = try await client.query(
                    """
                    UPDATE jobs SET lease_expires = \(t + lease), progress = GREATEST(progress, \(progress.fraction)),
                        step = \(progress.step), tiles_done = COALESCE(\(progress.tilesDone), tiles_done),
                        tiles_total = COALESCE(\(progress.tilesTotal), tiles_total)
                    WHERE id = \(id) AND status = 'running' AND lease_owner = \(worker) RETURNING id
                    """, logger: logger)
            } else {
                renewed = try await client.query(
                    """
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
                if status == JobStatus.canceled.rawValue {
                    state = .canceled
                } else if status == JobStatus.running.rawValue && owner == worker {
                    state = .held
                }
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
                guard let job = try await lockedJob(connection, id: id), job.status == .running,
                    job.leaseOwner == worker
                else {
                    return nil
                }
                let inputMegapixels = Double(job.inputWidth * job.inputHeight) / 1e6
                switch outcome {
                case .succeeded(let result):
                    try await connection.query(
                        """
                        UPDATE jobs SET status = 'succeeded', progress = 1, finished_at = \(t), expires_at = \(t + resultTTL),
                            lease_owner = NULL, result_path = \(result.path), result_width = \(result.width),
                            result_height = \(result.height), result_format = \(result.format),
                            processing_seconds = \(result.processingSeconds), result_device = \(result.device)
                        WHERE id = \(id)
                        """, logger: logger)
                    try await addUsage(
                        connection, owner: job.owner, name: job.ownerName, succeeded: 1, failed: 0,
                        input: inputMegapixels, output: Double(result.width * result.height) / 1e6,
                        seconds: result.processingSeconds)
                case .failed(let code, let message):
                    try await connection.query(
                        """
                        UPDATE jobs SET status = 'failed', finished_at = \(t), expires_at = \(t + resultTTL),
                            lease_owner = NULL, error_code = \(code.rawValue), error_message = \(message)
                        WHERE id = \(id)
                        """, logger: logger)
                    let seconds = job.startedAt.map { now.timeIntervalSince($0) } ?? 0
                    try await addUsage(
                        connection, owner: job.owner, name: job.ownerName, succeeded: 0, failed: 1,
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
                guard let job = try await lockedJob(connection, id: id), job.owner == owner else { return nil }
                if job.status.isFinal { return job }
                try await connection.query(
                    """
                    UPDATE jobs SET status = 'canceled', finished_at = \(t), expires_at = \(t + resultTTL),
                        lease_owner = NULL, error_code = \(ErrorCode.canceled.rawValue), error_message = 'canceled by its owner'
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
            try await count(
                client.query(
                    "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND owner = \(owner)",
                    logger: logger))
        }
    }

    private func count(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await value in rows.decode(Int.self) { count = value }
        return count
    }

    public func sweep(now: Date) async throws -> SweptJobs {
        try await shielded { [self] in
            let t = now.timeIntervalSince1970
            return try await client.withTransaction(logger: logger) { connection in
                var ids: [String] = [], files: [String] = []
                let expired = try await connection.query(
                    """
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
                let finished = try await connection.query(
                    """
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
            try await client.query(
                """
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
}
