import Foundation

/// The job state machine, defined once: each transition's rule and the SQL that applies it, which both SQL stores
/// run (the in-memory store is SQLite in memory). The stores differ only where the engines must: how they lock
/// (PostgreSQL locks rows and orders enqueues per owner; SQLite has one writer), how they notify (NOTIFY), and how
/// the sweep hands back the inputs it clears.
///
///     queued ──claim──▶ running ──finish──▶ succeeded | failed
///      ▲ │                │ lease ran out (the worker stopped): the next claim queues it again and counts the
///      │ │                │ crash against its input; it fails (worker_lost) after maxAttempts, or
///      │ │                │ (input_crashed_worker) once its input has stopped a worker twice.
///      └─┼────────────────┘ released by a worker shutting down: queued at once, neither attempt nor crash
///        └──cancel──▶ canceled ◀──cancel── running
///     any final state ──sweep, once expires_at has passed──▶ deleted
enum JobStateMachine {
    // MARK: - Enqueue

    static let queuedCount = JobStatement("SELECT COUNT(*) FROM jobs WHERE status = 'queued'")

    /// The jobs that count against an owner's limit: queued or running.
    static func activeCount(owner: String) -> JobStatement {
        JobStatement(
            "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND owner = :owner",
            ["owner": .text(owner)])
    }

    static func enqueue(_ job: NewJob, now: Date) -> JobStatement {
        JobStatement(
            """
            INSERT INTO jobs (id, owner, owner_name, status, request, input_path, input_width, input_height, model,
                              created_at, input_digest)
            VALUES (:id, :owner, :owner_name, 'queued', :request, :input_path, :input_width, :input_height, :model, :now,
                    :input_digest)
            """,
            [
                "id": .text(job.id), "owner": .text(job.owner), "owner_name": .text(job.ownerName),
                "request": .blob(job.request), "input_path": .text(job.inputPath),
                "input_width": .integer(job.inputWidth), "input_height": .integer(job.inputHeight),
                "model": .text(job.model), "now": .real(now.timeIntervalSince1970),
                "input_digest": .text(job.inputDigest),
            ])
    }

    // MARK: - Claim

    /// First step of a claim: a running job whose lease ran out lost its worker (a crash, a kill, a hang past the
    /// lease). It goes back to the queue with its progress reset, and hands back its input's digest so that the
    /// store counts the crash against the input (``countCrash(inputDigest:now:)``). Row locks (PostgreSQL) or the
    /// single writer (SQLite) hand each lost job to exactly one claim, so a crash is counted once.
    static func requeueLostJobs(now: Date) -> JobStatement {
        JobStatement(
            """
            UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires = NULL, progress = 0, step = NULL,
                tiles_done = NULL, tiles_total = NULL
            WHERE status = 'running' AND lease_expires < :now
            RETURNING input_digest
            """, ["now": .real(now.timeIntervalSince1970)])
    }

    /// Then a job that has lost its worker `maxAttempts` times fails with the reason, instead of being taken again
    /// forever.
    static func giveUpLostJobs(maxAttempts: Int, resultTTL: TimeInterval, now: Date) -> JobStatement {
        let t = now.timeIntervalSince1970
        return JobStatement(
            """
            UPDATE jobs SET status = 'failed', finished_at = :now, error_code = :code,
                error_message = 'the worker running this job stopped ' || attempts || ' times; giving up',
                expires_at = :expires
            WHERE status = 'queued' AND attempts >= :max_attempts
            """,
            [
                "now": .real(t), "code": .text(ErrorCode.workerLost.rawValue), "expires": .real(t + resultTTL),
                "max_attempts": .integer(maxAttempts),
            ])
    }

    /// Next: the queued job to take. The owner with the fewest running jobs goes
    /// first, then the oldest job. `lock` is what the engine appends to take the row (PostgreSQL's `FOR UPDATE … SKIP
    /// LOCKED`; nothing for SQLite, whose writer is alone).
    static func nextJob(now: Date, lock: String = "") -> JobStatement {
        JobStatement(
            """
            SELECT candidate.id FROM jobs AS candidate
            LEFT JOIN (SELECT owner, COUNT(*) AS running FROM jobs
                       WHERE status = 'running' AND lease_expires >= :now GROUP BY owner) AS busy
                   ON busy.owner = candidate.owner
            WHERE candidate.status = 'queued'
            ORDER BY COALESCE(busy.running, 0), candidate.created_at, candidate.id
            LIMIT 1 \(lock)
            """, ["now": .real(now.timeIntervalSince1970)])
    }

    /// Last: `worker` takes the job for `lease` seconds, as a new attempt with its progress reset.
    static func take(id: String, worker: String, lease: TimeInterval, now: Date) -> JobStatement {
        let t = now.timeIntervalSince1970
        return JobStatement(
            """
            UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = :worker,
                lease_expires = :lease_expires, started_at = COALESCE(started_at, :now), progress = 0, step = NULL,
                tiles_done = NULL, tiles_total = NULL
            WHERE id = :id
            """,
            ["id": .text(id), "worker": .text(worker), "lease_expires": .real(t + lease), "now": .real(t)])
    }

    // MARK: - Heartbeat

    /// Extends the lease (and records progress, which never goes back) only while `worker` holds the running job:
    /// a row comes back when it does. Otherwise ``leaseHolder(id:)`` tells why not.
    static func renew(id: String, worker: String, lease: TimeInterval, progress: JobProgress?, now: Date)
        -> JobStatement
    {
        var values: [String: SQLValue] = [
            "id": .text(id), "worker": .text(worker), "lease_expires": .real(now.timeIntervalSince1970 + lease),
        ]
        var progressColumns = ""
        if let progress {
            progressColumns = """
                , progress = CASE WHEN progress > :fraction THEN progress ELSE :fraction END, step = :step,
                    tiles_done = COALESCE(:tiles_done, tiles_done), tiles_total = COALESCE(:tiles_total, tiles_total)
                """
            values["fraction"] = .real(progress.fraction)
            values["step"] = .text(progress.step)
            values["tiles_done"] = .integer(progress.tilesDone)
            values["tiles_total"] = .integer(progress.tilesTotal)
        }
        return JobStatement(
            """
            UPDATE jobs SET lease_expires = :lease_expires\(progressColumns)
            WHERE id = :id AND status = 'running' AND lease_owner = :worker RETURNING id
            """, values)
    }

    static func leaseHolder(id: String) -> JobStatement {
        JobStatement("SELECT status, lease_owner FROM jobs WHERE id = :id", ["id": .text(id)])
    }

    /// What a worker whose renewal found no row is told: the owner canceled the job, or it is no longer this
    /// worker's (finished, swept, or taken over after the lease ran out).
    static func leaseState(status: String?, holder: String?, worker: String) -> LeaseState {
        if status == JobStatus.canceled.rawValue { return .canceled }
        return status == JobStatus.running.rawValue && holder == worker ? .held : .lost
    }

    // MARK: - Finish and cancel

    /// Only the worker holding a running job may finish it; any other answer from the worker is too late.
    static func mayFinish(_ job: JobRecord, worker: String) -> Bool {
        job.status == .running && job.leaseOwner == worker
    }

    static func finish(_ job: JobRecord, outcome: JobOutcome, resultTTL: TimeInterval, now: Date) -> JobStatement {
        let t = now.timeIntervalSince1970
        var values: [String: SQLValue] = ["id": .text(job.id), "now": .real(t), "expires": .real(t + resultTTL)]
        switch outcome {
        case .succeeded(let result):
            values["path"] = .text(result.path)
            values["width"] = .integer(result.width)
            values["height"] = .integer(result.height)
            values["format"] = .text(result.format)
            values["seconds"] = .real(result.processingSeconds)
            values["device"] = .text(result.device)
            return JobStatement(
                """
                UPDATE jobs SET status = 'succeeded', progress = 1, finished_at = :now, expires_at = :expires,
                    lease_owner = NULL, result_path = :path, result_width = :width, result_height = :height,
                    result_format = :format, processing_seconds = :seconds, result_device = :device
                WHERE id = :id
                """, values)
        case .failed(let code, let message):
            values["code"] = .text(code.rawValue)
            values["message"] = .text(message)
            return JobStatement(
                """
                UPDATE jobs SET status = 'failed', finished_at = :now, expires_at = :expires, lease_owner = NULL,
                    error_code = :code, error_message = :message
                WHERE id = :id
                """, values)
        }
    }

    /// What a finished job adds to its owner's usage: the pixels of a success, the time either way.
    static func usage(of job: JobRecord, outcome: JobOutcome, now: Date) -> JobStatement {
        switch outcome {
        case .succeeded(let result):
            return addUsage(
                owner: job.owner, name: job.ownerName, succeeded: 1, failed: 0,
                input: Double(job.inputWidth * job.inputHeight) / 1e6,
                output: Double(result.width * result.height) / 1e6, seconds: result.processingSeconds)
        case .failed:
            return addUsage(
                owner: job.owner, name: job.ownerName, succeeded: 0, failed: 1, input: 0, output: 0,
                seconds: job.startedAt.map { now.timeIntervalSince($0) } ?? 0)
        }
    }

    private static func addUsage(
        owner: String, name: String, succeeded: Int, failed: Int, input: Double, output: Double, seconds: Double
    ) -> JobStatement {
        JobStatement(
            """
            INSERT INTO usage (owner, owner_name, jobs_succeeded, jobs_failed, input_megapixels, output_megapixels,
                               compute_seconds)
            VALUES (:owner, :name, :succeeded, :failed, :input, :output, :seconds)
            ON CONFLICT (owner) DO UPDATE SET jobs_succeeded = usage.jobs_succeeded + excluded.jobs_succeeded,
                jobs_failed = usage.jobs_failed + excluded.jobs_failed,
                input_megapixels = usage.input_megapixels + excluded.input_megapixels,
                output_megapixels = usage.output_megapixels + excluded.output_megapixels,
                compute_seconds = usage.compute_seconds + excluded.compute_seconds
            """,
            [
                "owner": .text(owner), "name": .text(name), "succeeded": .integer(succeeded),
                "failed": .integer(failed), "input": .real(input), "output": .real(output), "seconds": .real(seconds),
            ])
    }

    /// What a cancel does to `job` as its owner sees it: nothing for another owner's job (nil: not found), nothing
    /// for a job already final (returned as it is), the ``cancel(id:resultTTL:now:)`` statement otherwise.
    enum CancelRule {
        case notFound, unchanged, cancel
    }

    static func cancelRule(_ job: JobRecord?, owner: String) -> CancelRule {
        guard let job, job.owner == owner else { return .notFound }
        return job.status.isFinal ? .unchanged : .cancel
    }

    static func cancel(id: String, resultTTL: TimeInterval, now: Date) -> JobStatement {
        let t = now.timeIntervalSince1970
        return JobStatement(
            """
            UPDATE jobs SET status = 'canceled', finished_at = :now, expires_at = :expires, lease_owner = NULL,
                error_code = :code, error_message = 'canceled by its owner'
            WHERE id = :id
            """,
            [
                "id": .text(id), "now": .real(t), "expires": .real(t + resultTTL),
                "code": .text(ErrorCode.canceled.rawValue),
            ])
    }

    // MARK: - Sweep

    /// Deletes the jobs whose results have expired, handing back their files.
    static func expire(now: Date) -> JobStatement {
        JobStatement(
            """
            DELETE FROM jobs WHERE expires_at IS NOT NULL AND expires_at < :now
            RETURNING id, input_path, result_path
            """, ["now": .real(now.timeIntervalSince1970)])
    }

    /// Every blob a job row names: what the sweeper must not take as an orphan.
    static let referencedBlobs = JobStatement(
        "SELECT input_path AS path FROM jobs WHERE input_path != '' "
            + "UNION SELECT result_path AS path FROM jobs WHERE result_path IS NOT NULL")

    /// Inputs of finished jobs are no longer needed; the rows stay until their results expire.
    static let finishedStates = "status IN ('succeeded', 'failed', 'canceled') AND input_path != ''"

    // MARK: - Usage and workers

    static func recordRequest(owner: String, name: String) -> JobStatement {
        JobStatement(
            """
            INSERT INTO usage (owner, owner_name, requests) VALUES (:owner, :name, 1)
            ON CONFLICT (owner) DO UPDATE SET requests = usage.requests + 1, owner_name = excluded.owner_name
            """, ["owner": .text(owner), "name": .text(name)])
    }

    static func workerSeen(_ worker: String, now: Date) -> JobStatement {
        JobStatement(
            """
            INSERT INTO workers (id, seen_at) VALUES (:worker, :now)
            ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at
            """, ["worker": .text(worker), "now": .real(now.timeIntervalSince1970)])
    }

    static let lastWorkerSeen = JobStatement("SELECT MAX(seen_at) FROM workers")
}
