public import Foundation

/// The durable queue between the api role and the workers: jobs, their leases and progress, results, usage.
///
/// Every method takes `now`, so tests can move time; callers pass `Date()`. Jobs survive restarts: a queued job stays
/// queued, and a running job whose worker stopped (its lease ran out) is queued again by the next `claim`, up to
/// `maxAttempts` takes, after which it fails with the reason. Each such stop counts against the job's input; an
/// input that stopped a worker twice fails at once (``ErrorCode/inputCrashedWorker``).
public protocol JobStore: Sendable {
    /// Queues `job` unless that would pass `limits`.
    func enqueue(_ job: NewJob, limits: QueueLimits, now: Date) async throws -> EnqueueResult

    /// Takes a queued job for `worker`, after queuing again the running jobs whose lease expired (and counting the
    /// crash against their inputs). Owners with the fewest running jobs go first, then the oldest job, so one client
    /// with many jobs cannot keep every worker to itself. Jobs past their last allowed attempt, and jobs whose input
    /// has stopped a worker twice, are failed on the way.
    func claim(worker: String, lease: TimeInterval, maxAttempts: Int, resultTTL: TimeInterval, now: Date) async throws
        -> JobRecord?

    /// Extends `worker`'s lease on job `id` and records progress.
    func heartbeat(id: String, worker: String, lease: TimeInterval, progress: JobProgress?, now: Date) async throws
        -> LeaseState

    /// Records how the job ended, if `worker` still holds it; returns the final record, or nil if it was canceled or
    /// taken over. Usage is updated in the same transaction.
    func finish(id: String, worker: String, outcome: JobOutcome, resultTTL: TimeInterval, now: Date) async throws
        -> JobRecord?

    /// Gives `worker`'s running job back to the queue at once, as a worker shutting down does: the attempt is not
    /// counted, nor a crash. Nothing happens when `worker` no longer holds it.
    func release(id: String, worker: String) async throws

    /// Cancels `owner`'s job: a queued or running job becomes `canceled` (a running one's worker sees that at its next
    /// heartbeat). A finished job is returned as it is. Nil if `owner` has no such job.
    func cancel(id: String, owner: String, resultTTL: TimeInterval, now: Date) async throws -> JobRecord?

    /// The job, if it exists and (when `owner` is given) belongs to `owner`.
    func job(id: String, owner: String?) async throws -> JobRecord?

    /// How many times the input with this SHA-256 (hex) has stopped a worker, as counted by ``claim``.
    func crashes(inputDigest: String) async throws -> Int

    /// Jobs waiting, in all: the queue depth.
    func queuedCount() async throws -> Int

    /// `owner`'s jobs that are queued or running: what the per-token cap on concurrent jobs counts.
    func activeCount(owner: String) async throws -> Int

    /// Takes one request from the token bucket `bucket` under `policy`, atomically for every process that shares the
    /// store, and says whether it was allowed and what is left.
    func takeRateToken(bucket: String, policy: RateLimitPolicy, now: Date) async throws -> RateLimitDecision

    /// Counts one request against `owner`'s usage.
    func recordRequest(owner: String, name: String) async throws

    func usage(owner: String) async throws -> Usage?

    /// Deletes jobs whose results expired, and returns their files. Finished jobs' inputs are returned too.
    func sweep(now: Date) async throws -> SweptJobs

    /// The blob keys some job names, as input or result.
    func referencedBlobs() async throws -> Set<String>

    /// A worker says it is alive (at start and while idle), so `/health/ready` can tell.
    func workerSeen(_ worker: String, now: Date) async throws

    /// The most recent time any worker said it was alive.
    func lastWorkerSeen() async throws -> Date?

    /// Calls `onJob` whenever any process queues a job, until the task is cancelled, where the store can tell
    /// (PostgreSQL's LISTEN/NOTIFY); idle workers wake at once instead of waiting for their next poll.
    func listenForQueuedJobs(_ onJob: @escaping @Sendable () -> Void) async throws
}

extension JobStore {
    /// Stores without notifications (SQLite) wait here until cancelled; workers then rely on polling and in-process
    /// signals.
    public func listenForQueuedJobs(_ onJob: @escaping @Sendable () -> Void) async throws {
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }

    /// Queues `job` with no limits.
    public func enqueue(_ job: NewJob, now: Date) async throws -> JobRecord {
        guard case .queued(let record) = try await enqueue(job, limits: QueueLimits(), now: now) else {
            throw StoreError("job \(job.id) was not queued")
        }
        return record
    }
}

extension JobStore {
    /// Whether new jobs with the input of this SHA-256 (hex) are refused: it has stopped a worker twice.
    public func refuses(inputDigest: String) async throws -> Bool {
        try await crashes(inputDigest: inputDigest) >= JobStateMachine.crashesBeforeGivingUp
    }
}
