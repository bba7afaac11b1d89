import Foundation
import JobStore

/// A job store that forwards every call to `base`, with hooks before the calls tests break or count: a rate bucket
/// that cannot be reached (a lost connection, a locked database), or a look at one job.
struct ObservedJobStore: JobStore {
    let base: any JobStore
    var beforeRateToken: @Sendable () throws -> Void = {}
    var beforeJobRead: @Sendable () -> Void = {}

    static func unreachableBuckets(_ base: any JobStore) -> ObservedJobStore {
        ObservedJobStore(base: base, beforeRateToken: { throw StoreError("the rate buckets cannot be reached") })
    }

    func takeRateToken(bucket: String, policy: RateLimitPolicy, now: Date) async throws -> RateLimitDecision {
        try beforeRateToken()
        return try await base.takeRateToken(bucket: bucket, policy: policy, now: now)
    }
    func job(id: String, owner: String?) async throws -> JobRecord? {
        beforeJobRead()
        return try await base.job(id: id, owner: owner)
    }

    func enqueue(_ job: NewJob, limits: QueueLimits, now: Date) async throws -> EnqueueResult {
        try await base.enqueue(job, limits: limits, now: now)
    }
    func claim(worker: String, lease: TimeInterval, maxAttempts: Int, resultTTL: TimeInterval, now: Date)
        async throws -> JobRecord?
    {
        try await base.claim(worker: worker, lease: lease, maxAttempts: maxAttempts, resultTTL: resultTTL, now: now)
    }
    func heartbeat(id: String, worker: String, lease: TimeInterval, progress: JobProgress?, now: Date)
        async throws -> LeaseState
    {
        try await base.heartbeat(id: id, worker: worker, lease: lease, progress: progress, now: now)
    }
    func finish(id: String, worker: String, outcome: JobOutcome, resultTTL: TimeInterval, now: Date)
        async throws -> JobRecord?
    {
        try await base.finish(id: id, worker: worker, outcome: outcome, resultTTL: resultTTL, now: now)
    }
    func release(id: String, worker: String) async throws { try await base.release(id: id, worker: worker) }
    func cancel(id: String, owner: String, resultTTL: TimeInterval, now: Date) async throws -> JobRecord? {
        try await base.cancel(id: id, owner: owner, resultTTL: resultTTL, now: now)
    }
    func crashes(inputDigest: String) async throws -> Int { try await base.crashes(inputDigest: inputDigest) }
    func queuedCount() async throws -> Int { try await base.queuedCount() }
    func activeCount(owner: String) async throws -> Int { try await base.activeCount(owner: owner) }
    func recordRequest(owner: String, name: String) async throws {
        try await base.recordRequest(owner: owner, name: name)
    }
    func usage(owner: String) async throws -> Usage? { try await base.usage(owner: owner) }
    func sweep(now: Date) async throws -> SweptJobs { try await base.sweep(now: now) }
    func referencedBlobs() async throws -> Set<String> { try await base.referencedBlobs() }
    func workerSeen(_ worker: String, now: Date) async throws { try await base.workerSeen(worker, now: now) }
    func lastWorkerSeen() async throws -> Date? { try await base.lastWorkerSeen() }
}
