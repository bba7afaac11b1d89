public import Foundation

/// Where a job is in its life. `succeeded`, `failed` and `canceled` are final.
public enum JobStatus: String, Codable, Sendable, CaseIterable {
    case queued
    case running
    case succeeded
    case failed
    case canceled

    public var isFinal: Bool { self == .succeeded || self == .failed || self == .canceled }
}

/// What a finished job made.
public struct JobResult: Sendable, Equatable {
    /// The encoded image, written whole (temporary file, then rename) before the job is marked succeeded.
    public var path: String
    public var width: Int
    public var height: Int
    /// `png`, `jpg` or `webp`.
    public var format: String
    /// Seconds the pipeline ran.
    public var processingSeconds: Double
    /// Where the model ran, `cpu` or `gpu:N` (`nil` for jobs finished before this was recorded).
    public var device: String?

    public init(path: String, width: Int, height: Int, format: String, processingSeconds: Double,
                device: String? = nil) {
        self.path = path
        self.width = width
        self.height = height
        self.format = format
        self.processingSeconds = processingSeconds
        self.device = device
    }
}

/// A job as the store holds it.
public struct JobRecord: Sendable, Equatable {
    public var id: String
    /// The SHA-256 (hex) of the token that created the job; only that token sees it.
    public var owner: String
    /// The token's name, for usage reports and logs.
    public var ownerName: String
    public var status: JobStatus
    /// The job's options, encoded by the caller; the store does not look inside.
    public var request: Data
    /// The uploaded image, until the job finishes.
    public var inputPath: String
    public var inputWidth: Int
    public var inputHeight: Int
    public var model: String
    public var progress: Double
    public var step: String?
    public var tilesDone: Int?
    public var tilesTotal: Int?
    /// How many times a worker has taken the job (a retry after a lost worker counts again).
    public var attempts: Int
    public var leaseOwner: String?
    public var leaseExpires: Date?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// When the result (and the job) will be swept.
    public var expiresAt: Date?
    public var result: JobResult?
    public var errorCode: String?
    public var errorMessage: String?
}

/// Limits checked when a job is queued, in the same step as the insert, so that concurrent requests (on any api
/// process) cannot pass the per-owner cap together. nil means no limit.
public struct QueueLimits: Sendable, Equatable {
    /// Queued jobs in all. Processes racing may pass it by one job each: it guards memory, not fairness.
    public var maxQueued: Int?
    /// The owner's queued and running jobs together; exact.
    public var maxActivePerOwner: Int?

    public init(maxQueued: Int? = nil, maxActivePerOwner: Int? = nil) {
        self.maxQueued = maxQueued
        self.maxActivePerOwner = maxActivePerOwner
    }
}

/// What queuing a job under ``QueueLimits`` did.
public enum EnqueueResult: Sendable, Equatable {
    case queued(JobRecord)
    /// Nothing was queued: this many jobs wait already.
    case queueFull(queued: Int)
    /// Nothing was queued: the owner has this many jobs queued or running.
    case ownerAtLimit(active: Int)
}

/// A job to queue.
public struct NewJob: Sendable {
    public var id: String
    public var owner: String
    public var ownerName: String
    public var request: Data
    public var inputPath: String
    public var inputWidth: Int
    public var inputHeight: Int
    public var model: String

    public init(id: String, owner: String, ownerName: String, request: Data, inputPath: String,
                inputWidth: Int, inputHeight: Int, model: String) {
        self.id = id
        self.owner = owner
        self.ownerName = ownerName
        self.request = request
        self.inputPath = inputPath
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.model = model
    }
}

/// Where a running job is, reported by its worker.
public struct JobProgress: Sendable, Equatable {
    public var fraction: Double
    public var step: String
    public var tilesDone: Int?
    public var tilesTotal: Int?

    public init(fraction: Double, step: String, tilesDone: Int? = nil, tilesTotal: Int? = nil) {
        self.fraction = fraction
        self.step = step
        self.tilesDone = tilesDone
        self.tilesTotal = tilesTotal
    }
}

/// How a worker's job ended.
public enum JobOutcome: Sendable, Equatable {
    case succeeded(JobResult)
    case failed(code: String, message: String)
}

/// What the store says to a worker's heartbeat.
public enum LeaseState: Sendable, Equatable {
    /// Go on; the lease is extended.
    case held
    /// The owner canceled the job: stop, and do not report a result.
    case canceled
    /// Another worker has the job now, or it is gone: stop.
    case lost
}

/// One token's usage.
public struct Usage: Sendable, Equatable {
    public var ownerName: String
    public var requests: Int
    public var jobsSucceeded: Int
    public var jobsFailed: Int
    public var inputMegapixels: Double
    public var outputMegapixels: Double
    public var computeSeconds: Double

    public init(ownerName: String, requests: Int = 0, jobsSucceeded: Int = 0, jobsFailed: Int = 0,
                inputMegapixels: Double = 0, outputMegapixels: Double = 0, computeSeconds: Double = 0) {
        self.ownerName = ownerName
        self.requests = requests
        self.jobsSucceeded = jobsSucceeded
        self.jobsFailed = jobsFailed
        self.inputMegapixels = inputMegapixels
        self.outputMegapixels = outputMegapixels
        self.computeSeconds = computeSeconds
    }
}

/// Files a sweep released: the caller deletes them.
public struct SweptJobs: Sendable, Equatable {
    public var jobIDs: [String]
    public var files: [String]
}

/// The durable queue between the api role and the workers: jobs, their leases and progress, results, usage.
///
/// Every method takes `now`, so tests can move time; callers pass `Date()`. Jobs survive restarts: a queued job stays
/// queued, and a running job whose worker stopped (its lease ran out) is taken again by the next `claim`, up to
/// `maxAttempts` takes, after which it fails with the reason.
public protocol JobStore: Sendable {
    /// Queues `job` unless that would pass `limits`.
    func enqueue(_ job: NewJob, limits: QueueLimits, now: Date) async throws -> EnqueueResult

    /// Takes a runnable job for `worker`: a queued one, or a running one whose lease expired. Owners with the fewest
    /// running jobs go first, then the oldest job, so one client with many jobs cannot keep every worker to itself.
    /// Jobs whose lease expired after their last allowed attempt are failed on the way.
    func claim(worker: String, lease: TimeInterval, maxAttempts: Int, resultTTL: TimeInterval, now: Date) async throws -> JobRecord?

    /// Extends `worker`'s lease on job `id` and records progress.
    func heartbeat(id: String, worker: String, lease: TimeInterval, progress: JobProgress?, now: Date) async throws
        -> LeaseState

    /// Records how the job ended, if `worker` still holds it; returns the final record, or nil if it was canceled or
    /// taken over. Usage is updated in the same transaction.
    func finish(id: String, worker: String, outcome: JobOutcome, resultTTL: TimeInterval, now: Date) async throws
        -> JobRecord?

    /// Cancels `owner`'s job: a queued or running job becomes `canceled` (a running one's worker sees that at its next
    /// heartbeat). A finished job is returned as it is. Nil if `owner` has no such job.
    func cancel(id: String, owner: String, resultTTL: TimeInterval, now: Date) async throws -> JobRecord?

    /// The job, if it exists and (when `owner` is given) belongs to `owner`.
    func job(id: String, owner: String?) async throws -> JobRecord?

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
