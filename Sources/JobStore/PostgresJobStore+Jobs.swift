public import Foundation
import Logging
internal import NIOSSL
internal import PostgresNIO
import Synchronization

extension PostgresJobStore {
    public func enqueue(_ job: NewJob, limits: QueueLimits, now: Date) async throws -> EnqueueResult {
        try await shielded { [self] in
            try await client.withTransaction(logger: logger) { connection in
                if let most = limits.maxQueued {
                    let queued = try await count(connection.query(JobStateMachine.queuedCount.query, logger: logger))
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
                        connection.query(JobStateMachine.activeCount(owner: job.owner).query, logger: logger))
                    if active >= most { return .ownerAtLimit(active: active) }
                }
                try await connection.query(JobStateMachine.enqueue(job, now: now).query, logger: logger)
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
            try await client.withTransaction(logger: logger) { connection in
                var digests: [String] = []
                let lost = try await connection.query(JobStateMachine.requeueLostJobs(now: now).query, logger: logger)
                for try await digest in lost.decode(String?.self) { if let digest { digests.append(digest) } }
                for digest in digests {
                    try await connection.query(
                        JobStateMachine.countCrash(inputDigest: digest, now: now).query, logger: logger)
                }
                let giveUp = JobStateMachine.giveUpLostJobs(maxAttempts: maxAttempts, resultTTL: resultTTL, now: now)
                try await connection.query(giveUp.query, logger: logger)
                try await connection.query(
                    JobStateMachine.giveUpCrashingInputs(resultTTL: resultTTL, now: now).query, logger: logger)
                // Concurrent claims skip the row another one holds instead of waiting for it.
                let next = JobStateMachine.nextJob(now: now, lock: "FOR UPDATE OF candidate SKIP LOCKED")
                var id: String?
                for try await row in try await connection.query(next.query, logger: logger).decode(String.self) {
                    id = row
                }
                guard let id else { return nil }
                let take = JobStateMachine.take(id: id, worker: worker, lease: lease, now: now)
                try await connection.query(take.query, logger: logger)
                return try await fetch(connection, id: id)
            }
        }
    }

    public func heartbeat(id: String, worker: String, lease: TimeInterval, progress: JobProgress?, now: Date)
        async throws -> LeaseState
    {
        try await shielded { [self] in
            // The UPDATE sees a cancel committed while it waited for the row, so a row back means held; only
            // otherwise is the job read again.
            let renew = JobStateMachine.renew(id: id, worker: worker, lease: lease, progress: progress, now: now)
            var held = false
            for try await _ in try await client.query(renew.query, logger: logger) { held = true }
            if held { return .held }
            let rows = try await client.query(JobStateMachine.leaseHolder(id: id).query, logger: logger)
            var state = LeaseState.lost
            for try await (status, holder) in rows.decode((String, String?).self) {
                state = JobStateMachine.leaseState(status: status, holder: holder, worker: worker)
            }
            return state
        }
    }

    public func finish(id: String, worker: String, outcome: JobOutcome, resultTTL: TimeInterval, now: Date)
        async throws -> JobRecord?
    {
        try await shielded { [self] in
            try await client.withTransaction(logger: logger) { connection in
                guard let job = try await lockedJob(connection, id: id), JobStateMachine.mayFinish(job, worker: worker)
                else { return nil }
                let finish = JobStateMachine.finish(job, outcome: outcome, resultTTL: resultTTL, now: now)
                try await connection.query(finish.query, logger: logger)
                try await connection.query(
                    JobStateMachine.usage(of: job, outcome: outcome, now: now).query, logger: logger)
                return try await fetch(connection, id: id)
            }
        }
    }

    public func cancel(id: String, owner: String, resultTTL: TimeInterval, now: Date) async throws -> JobRecord? {
        try await shielded { [self] in
            try await client.withTransaction(logger: logger) { connection in
                let job = try await lockedJob(connection, id: id)
                switch JobStateMachine.cancelRule(job, owner: owner) {
                case .notFound: return nil
                case .unchanged: return job
                case .cancel:
                    let cancel = JobStateMachine.cancel(id: id, resultTTL: resultTTL, now: now)
                    try await connection.query(cancel.query, logger: logger)
                    return try await fetch(connection, id: id)
                }
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

    public func release(id: String, worker: String) async throws {
        try await shielded { [self] in
            try await client.query(JobStateMachine.release(id: id, worker: worker).query, logger: logger)
        }
    }

    public func crashes(inputDigest: String) async throws -> Int {
        try await shielded { [self] in
            try await count(client.query(JobStateMachine.crashes(inputDigest: inputDigest).query, logger: logger))
        }
    }

    public func queuedCount() async throws -> Int {
        try await shielded { [self] in
            try await count(client.query(JobStateMachine.queuedCount.query, logger: logger))
        }
    }

    public func activeCount(owner: String) async throws -> Int {
        try await shielded { [self] in
            try await count(client.query(JobStateMachine.activeCount(owner: owner).query, logger: logger))
        }
    }

    private func count(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await value in rows.decode(Int.self) { count = value }
        return count
    }

    public func sweep(now: Date) async throws -> SweptJobs {
        try await shielded { [self] in
            try await client.withTransaction(logger: logger) { connection in
                var ids: [String] = [], files: [String] = []
                let expired = try await connection.query(JobStateMachine.expire(now: now).query, logger: logger)
                for try await (id, input, result) in expired.decode((String, String, String?).self) {
                    ids.append(id)
                    if !input.isEmpty { files.append(input) }
                    if let result { files.append(result) }
                }
                // One statement clears exactly the paths it returns, so a job finishing meanwhile keeps its path for
                // the next sweep.
                let finished = try await connection.query(
                    """
                    UPDATE jobs SET input_path = '' FROM (
                        SELECT id, input_path AS old_path FROM jobs
                        WHERE \(unescaped: JobStateMachine.finishedStates) FOR UPDATE) AS done
                    WHERE jobs.id = done.id
                    RETURNING done.old_path
                    """, logger: logger)
                var inputs: [String] = []
                for try await old in finished.decode(String.self) { inputs.append(old) }
                try await connection.query(JobStateMachine.forgetCrashes(now: now).query, logger: logger)
                return SweptJobs(jobIDs: ids, files: inputs + files)
            }
        }
    }

    public func referencedBlobs() async throws -> Set<String> {
        try await shielded { [self] in
            var paths = Set<String>()
            let rows = try await client.query(JobStateMachine.referencedBlobs.query, logger: logger)
            for try await path in rows.decode(String.self) { paths.insert(path) }
            return paths
        }
    }

    public func workerSeen(_ worker: String, now: Date) async throws {
        try await shielded { [self] in
            try await client.query(JobStateMachine.workerSeen(worker, now: now).query, logger: logger)
        }
    }

    public func lastWorkerSeen() async throws -> Date? {
        try await shielded { [self] in
            let rows = try await client.query(JobStateMachine.lastWorkerSeen.query, logger: logger)
            var latest: Double?
            for try await value in rows.decode(Double?.self) { latest = value }
            return latest.map { Date(timeIntervalSince1970: $0) }
        }
    }
}

extension JobStatement {
    /// The statement with its parameters numbered, as PostgreSQL takes them.
    var query: PostgresQuery {
        get throws {
            let (sql, values) = numbered
            var binds = PostgresBindings()
            for value in values {
                switch value {
                case .text(let text): if let text { binds.append(text) } else { binds.appendNull() }
                case .real(let real): if let real { binds.append(real) } else { binds.appendNull() }
                case .integer(let integer): if let integer { binds.append(integer) } else { binds.appendNull() }
                case .blob(let data): if let data { try binds.append(data) } else { binds.appendNull() }
                }
            }
            return PostgresQuery(unsafeSQL: sql, binds: binds)
        }
    }
}
