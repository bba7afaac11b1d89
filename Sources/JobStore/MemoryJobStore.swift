public import Foundation
import Synchronization

/// The job store in this process's memory: for tests and for trying the service without a database. Nothing
/// survives the process. It keeps the same rules as the SQL stores (the shared behaviour suite runs on all three):
/// claims go to the owner with the fewest running jobs, then the oldest job; a lease that ran out is taken again up
/// to `maxAttempts`; only the lease holder may finish a job.
public final class MemoryJobStore: JobStore {
    private struct State {
        var jobs: [String: JobRecord] = [:]
        var usage: [String: Usage] = [:]
        var buckets: [String: (tokens: Double, updatedAt: Double)] = [:]
        var workers: [String: Date] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func enqueue(_ job: NewJob, limits: QueueLimits, now: Date) async throws -> EnqueueResult {
        try state.withLock { state in
            if let most = limits.maxQueued {
                let queued = state.jobs.values.count { $0.status == .queued }
                if queued >= most { return .queueFull(queued: queued) }
            }
            if let most = limits.maxActivePerOwner {
                let active = Self.activeCount(state, owner: job.owner)
                if active >= most { return .ownerAtLimit(active: active) }
            }
            guard state.jobs[job.id] == nil else { throw StoreError("job \(job.id) exists already") }
            let record = JobRecord(
                id: job.id, owner: job.owner, ownerName: job.ownerName, status: .queued, request: job.request,
                inputPath: job.inputPath, inputWidth: job.inputWidth, inputHeight: job.inputHeight, model: job.model,
                progress: 0, step: nil, tilesDone: nil, tilesTotal: nil, attempts: 0, leaseOwner: nil,
                leaseExpires: nil, createdAt: now, startedAt: nil, finishedAt: nil, expiresAt: nil, result: nil,
                errorCode: nil, errorMessage: nil)
            state.jobs[job.id] = record
            return .queued(record)
        }
    }

    public func claim(
        worker: String, lease: TimeInterval, maxAttempts: Int, resultTTL: TimeInterval,
        now: Date
    ) async throws -> JobRecord? {
        state.withLock { state in
            func expired(_ job: JobRecord) -> Bool {
                job.status == .running && (job.leaseExpires ?? .distantPast) < now
            }
            // A job whose worker vanished after its last allowed attempt fails with the reason, instead of looping.
            for (id, job) in state.jobs where expired(job) && job.attempts >= maxAttempts {
                state.jobs[id]?.status = .failed
                state.jobs[id]?.finishedAt = now
                state.jobs[id]?.leaseOwner = nil
                state.jobs[id]?.errorCode = .workerLost
                state.jobs[id]?.errorMessage = "the worker running this job stopped \(job.attempts) times; giving up"
                state.jobs[id]?.expiresAt = now.addingTimeInterval(resultTTL)
            }
            var running: [String: Int] = [:]
            for job in state.jobs.values where job.status == .running && !expired(job) {
                running[job.owner, default: 0] += 1
            }
            let candidate = state.jobs.values.filter { $0.status == .queued || expired($0) }
                .min { a, b in
                    (running[a.owner] ?? 0, a.createdAt, a.id) < (running[b.owner] ?? 0, b.createdAt, b.id)
                }
            guard var job = candidate else { return nil }
            job.status = .running
            job.attempts += 1
            job.leaseOwner = worker
            job.leaseExpires = now.addingTimeInterval(lease)
            job.startedAt = job.startedAt ?? now
            job.progress = 0
            job.step = nil
            job.tilesDone = nil
            job.tilesTotal = nil
            state.jobs[job.id] = job
            return job
        }
    }

    public func heartbeat(
        id: String, worker: String, lease: TimeInterval, progress: JobProgress?,
        now: Date
    ) async throws -> LeaseState {
        state.withLock { state in
            guard let job = state.jobs[id] else { return .lost }
            if job.status == .canceled { return .canceled }
            guard job.status == .running, job.leaseOwner == worker else { return .lost }
            state.jobs[id]?.leaseExpires = now.addingTimeInterval(lease)
            if let progress {
                state.jobs[id]?.progress = max(job.progress, progress.fraction)
                state.jobs[id]?.step = progress.step
                state.jobs[id]?.tilesDone = progress.tilesDone ?? job.tilesDone
                state.jobs[id]?.tilesTotal = progress.tilesTotal ?? job.tilesTotal
            }
            return .held
        }
    }

    public func finish(
        id: String, worker: String, outcome: JobOutcome, resultTTL: TimeInterval,
        now: Date
    ) async throws -> JobRecord? {
        state.withLock { state in
            guard var job = state.jobs[id], job.status == .running, job.leaseOwner == worker else { return nil }
            job.finishedAt = now
            job.expiresAt = now.addingTimeInterval(resultTTL)
            job.leaseOwner = nil
            var usage = state.usage[job.owner] ?? Usage(ownerName: job.ownerName)
            usage.ownerName = job.ownerName
            switch outcome {
            case .succeeded(let result):
                job.status = .succeeded
                job.progress = 1
                job.result = result
                usage.jobsSucceeded += 1
                usage.inputMegapixels += Double(job.inputWidth * job.inputHeight) / 1e6
                usage.outputMegapixels += Double(result.width * result.height) / 1e6
                usage.computeSeconds += result.processingSeconds
            case .failed(let code, let message):
                job.status = .failed
                job.errorCode = code
                job.errorMessage = message
                usage.jobsFailed += 1
                usage.computeSeconds += job.startedAt.map { now.timeIntervalSince($0) } ?? 0
            }
            state.jobs[id] = job
            state.usage[job.owner] = usage
            return job
        }
    }

    public func cancel(id: String, owner: String, resultTTL: TimeInterval, now: Date) async throws -> JobRecord? {
        state.withLock { state in
            guard var job = state.jobs[id], job.owner == owner else { return nil }
            if job.status.isFinal { return job }
            job.status = .canceled
            job.finishedAt = now
            job.expiresAt = now.addingTimeInterval(resultTTL)
            job.leaseOwner = nil
            job.errorCode = .canceled
            job.errorMessage = "canceled by its owner"
            state.jobs[id] = job
            return job
        }
    }

    public func job(id: String, owner: String?) async throws -> JobRecord? {
        state.withLock { state in
            guard let job = state.jobs[id], owner == nil || job.owner == owner else { return nil }
            return job
        }
    }

    public func queuedCount() async throws -> Int {
        state.withLock { $0.jobs.values.count { $0.status == .queued } }
    }

    public func activeCount(owner: String) async throws -> Int {
        state.withLock { Self.activeCount($0, owner: owner) }
    }

    private static func activeCount(_ state: State, owner: String) -> Int {
        state.jobs.values.count { $0.owner == owner && ($0.status == .queued || $0.status == .running) }
    }

    /// The arithmetic of ``TokenBucketStatement``, which the SQL stores run as one upsert.
    public func takeRateToken(bucket: String, policy: RateLimitPolicy, now: Date) async throws -> RateLimitDecision {
        state.withLock { state in
            let t = now.timeIntervalSince1970
            let burst = Double(policy.burst)
            guard let stored = state.buckets[bucket] else {
                state.buckets[bucket] = (burst - 1, t)
                return RateLimitDecision(allowed: true, level: burst - 1, policy: policy)
            }
            let level = min(burst, stored.tokens + max(0, t - stored.updatedAt) * policy.perSecond)
            let allowed = level >= 1
            state.buckets[bucket] = (allowed ? level - 1 : level, max(t, stored.updatedAt))
            return RateLimitDecision(allowed: allowed, level: allowed ? level - 1 : level, policy: policy)
        }
    }

    public func recordRequest(owner: String, name: String) async throws {
        state.withLock { state in
            var usage = state.usage[owner] ?? Usage(ownerName: name)
            usage.ownerName = name
            usage.requests += 1
            state.usage[owner] = usage
        }
    }

    public func usage(owner: String) async throws -> Usage? {
        state.withLock { $0.usage[owner] }
    }

    public func sweep(now: Date) async throws -> SweptJobs {
        state.withLock { state in
            var swept = SweptJobs(jobIDs: [], files: [])
            for (id, job) in state.jobs.sorted(by: { $0.key < $1.key }) {
                if let expires = job.expiresAt, expires < now {
                    swept.jobIDs.append(id)
                    if !job.inputPath.isEmpty { swept.files.append(job.inputPath) }
                    if let result = job.result { swept.files.append(result.path) }
                    state.jobs[id] = nil
                } else if job.status.isFinal, !job.inputPath.isEmpty {
                    // Inputs of finished jobs are no longer needed; the jobs stay until their results expire.
                    swept.files.append(job.inputPath)
                    state.jobs[id]?.inputPath = ""
                }
            }
            return swept
        }
    }

    public func workerSeen(_ worker: String, now: Date) async throws {
        state.withLock { $0.workers[worker] = now }
    }

    public func lastWorkerSeen() async throws -> Date? {
        state.withLock { $0.workers.values.max() }
    }
}
