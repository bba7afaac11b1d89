import Foundation
import JobStore

/// A blob store on a full disk: every write fails as the file system would make it fail; reads still work.
struct FullDiskBlobs: BlobStore {
    let base: any BlobStore

    func put(_ key: String, _ bytes: [UInt8]) async throws {
        throw StoreError("cannot write \(key): No space left on device", storageFull: true)
    }
    func get(_ key: String) async throws -> [UInt8]? { try await base.get(key) }
    func delete(_ keys: [String]) async throws { try await base.delete(keys) }
    func keys(writtenBefore date: Date) async throws -> [String] { try await base.keys(writtenBefore: date) }
    func chunks(_ key: String) async throws -> BlobChunks? { try await base.chunks(key) }
}

/// A job store whose rate buckets cannot be reached (a lost connection, a locked database); everything else works.
struct UnreachableBuckets: JobStore {
    let base: any JobStore

    func takeRateToken(bucket: String, policy: RateLimitPolicy, now: Date) async throws -> RateLimitDecision {
        throw StoreError("the rate buckets cannot be reached")
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
    func cancel(id: String, owner: String, resultTTL: TimeInterval, now: Date) async throws -> JobRecord? {
        try await base.cancel(id: id, owner: owner, resultTTL: resultTTL, now: now)
    }
    func job(id: String, owner: String?) async throws -> JobRecord? { try await base.job(id: id, owner: owner) }
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
