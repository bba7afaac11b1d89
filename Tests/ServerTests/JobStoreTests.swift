import Foundation
import JobStore
import Testing

/// The SQLite job store on its own, with time moved by hand.
struct JobStoreTests {
    let scratch: Scratch
    let store: SQLiteJobStore
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        scratch = try Scratch()
        store = try SQLiteJobStore(path: scratch.path("jobs.sqlite"))
    }

    func enqueue(_ id: String, owner: String = "alice", at time: Date) async throws -> JobRecord {
        try await store.enqueue(NewJob(id: id, owner: owner, ownerName: owner, request: Data("{}".utf8),
                                       inputPath: "/in/\(id)", inputWidth: 10, inputHeight: 20, model: "m"), now: time)
    }

    @Test func claimsOldestFirstAndOnlyOnce() async throws {
        _ = try await enqueue("b", at: t0.addingTimeInterval(1))
        _ = try await enqueue("a", at: t0)
        let first = try await store.claim(worker: "w1", lease: 10, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(2))
        let second = try await store.claim(worker: "w2", lease: 10, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(2))
        let third = try await store.claim(worker: "w3", lease: 10, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(2))
        #expect(first?.id == "a" && first?.status == .running && first?.attempts == 1 && first?.leaseOwner == "w1")
        #expect(second?.id == "b")
        #expect(third == nil)
    }

    /// A worker that stops renewing loses the job to the next claim after its lease, and can no longer finish it.
    @Test func expiredLeaseIsTakenAgainAndTheOldWorkerIsLocked() async throws {
        _ = try await enqueue("j", at: t0)
        _ = try await store.claim(worker: "w1", lease: 5, maxAttempts: 3, resultTTL: 60, now: t0)
        #expect(try await store.claim(worker: "w2", lease: 5, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(4)) == nil)
        let retaken = try await store.claim(worker: "w2", lease: 5, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(6))
        #expect(retaken?.attempts == 2 && retaken?.leaseOwner == "w2")
        #expect(try await store.heartbeat(id: "j", worker: "w1", lease: 5, progress: nil, now: t0.addingTimeInterval(6)) == .lost)
        let late = JobResult(path: "/out/j.png", width: 40, height: 80, format: "png", processingSeconds: 1)
        #expect(try await store.finish(id: "j", worker: "w1", outcome: .succeeded(late), resultTTL: 60, now: t0.addingTimeInterval(7)) == nil)
        let done = try await store.finish(id: "j", worker: "w2", outcome: .succeeded(late), resultTTL: 60, now: t0.addingTimeInterval(8))
        #expect(done?.status == .succeeded && done?.result == late && done?.expiresAt == t0.addingTimeInterval(68))
    }

    @Test func attemptLimitFailsTheJobWithAReason() async throws {
        _ = try await enqueue("j", at: t0)
        _ = try await store.claim(worker: "w1", lease: 5, maxAttempts: 2, resultTTL: 60, now: t0)
        _ = try await store.claim(worker: "w2", lease: 5, maxAttempts: 2, resultTTL: 60, now: t0.addingTimeInterval(6))
        #expect(try await store.claim(worker: "w3", lease: 5, maxAttempts: 2, resultTTL: 60, now: t0.addingTimeInterval(12)) == nil)
        let job = try await store.job(id: "j", owner: nil)
        #expect(job?.status == .failed && job?.errorCode == "worker_lost" && job?.attempts == 2)
        #expect(job?.errorMessage?.contains("2 times") == true)
    }

    @Test func jobsBelongToTheirOwner() async throws {
        _ = try await enqueue("j", owner: "alice", at: t0)
        #expect(try await store.job(id: "j", owner: "bob") == nil)
        #expect(try await store.cancel(id: "j", owner: "bob", resultTTL: 60, now: t0) == nil)
        #expect(try await store.job(id: "j", owner: "alice")?.status == .queued)
        #expect(try await store.queuedCount(owner: "alice") == 1)
        #expect(try await store.queuedCount(owner: "bob") == 0)
    }

    /// Cancel: a queued job never runs; a running one's worker is told at its next heartbeat and cannot record a
    /// result; a finished job stays as it was.
    @Test func cancelSemantics() async throws {
        _ = try await enqueue("q", at: t0)
        _ = try await enqueue("r", at: t0.addingTimeInterval(1))
        #expect(try await store.cancel(id: "q", owner: "alice", resultTTL: 60, now: t0)?.status == .canceled)
        let running = try await store.claim(worker: "w", lease: 30, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(2))
        #expect(running?.id == "r", "the canceled job is skipped")
        #expect(try await store.cancel(id: "r", owner: "alice", resultTTL: 60, now: t0.addingTimeInterval(3))?.status == .canceled)
        let progress = JobProgress(fraction: 0.5, step: "infer", tilesDone: 1, tilesTotal: 2)
        #expect(try await store.heartbeat(id: "r", worker: "w", lease: 30, progress: progress, now: t0.addingTimeInterval(4)) == .canceled)
        #expect(try await store.finish(id: "r", worker: "w", outcome: .failed(code: "x", message: "y"), resultTTL: 60,
                                       now: t0.addingTimeInterval(5)) == nil)
        #expect(try await store.cancel(id: "r", owner: "alice", resultTTL: 60, now: t0.addingTimeInterval(6))?.status == .canceled)
    }

    @Test func progressOnlyGrowsAndUsageAddsUp() async throws {
        _ = try await enqueue("j", at: t0)
        try await store.recordRequest(owner: "alice", name: "alice")
        _ = try await store.claim(worker: "w", lease: 30, maxAttempts: 3, resultTTL: 60, now: t0)
        _ = try await store.heartbeat(id: "j", worker: "w", lease: 30, progress: JobProgress(fraction: 0.6, step: "infer"), now: t0)
        _ = try await store.heartbeat(id: "j", worker: "w", lease: 30, progress: JobProgress(fraction: 0.4, step: "infer"), now: t0)
        #expect(try await store.job(id: "j", owner: nil)?.progress == 0.6)
        let result = JobResult(path: "/out/j.png", width: 1000, height: 2000, format: "png", processingSeconds: 2.5)
        _ = try await store.finish(id: "j", worker: "w", outcome: .succeeded(result), resultTTL: 60, now: t0.addingTimeInterval(3))
        let usage = try await store.usage(owner: "alice")
        #expect(usage == Usage(ownerName: "alice", requests: 1, jobsSucceeded: 1, jobsFailed: 0,
                               inputMegapixels: 200.0 / 1e6, outputMegapixels: 2.0, computeSeconds: 2.5))
    }

    /// The sweep removes expired jobs and hands back their files, and frees finished jobs' inputs.
    @Test func sweepReturnsFilesOfExpiredJobs() async throws {
        _ = try await enqueue("old", at: t0)
        _ = try await enqueue("new", at: t0.addingTimeInterval(1))
        _ = try await store.claim(worker: "w", lease: 30, maxAttempts: 3, resultTTL: 60, now: t0)
        let result = JobResult(path: "/out/old.png", width: 1, height: 1, format: "png", processingSeconds: 0)
        _ = try await store.finish(id: "old", worker: "w", outcome: .succeeded(result), resultTTL: 10, now: t0.addingTimeInterval(1))
        let early = try await store.sweep(now: t0.addingTimeInterval(5))
        #expect(early.jobIDs.isEmpty && early.files == ["/in/old"])
        let late = try await store.sweep(now: t0.addingTimeInterval(20))
        #expect(late.jobIDs == ["old"] && late.files == ["/out/old.png"])
        #expect(try await store.job(id: "old", owner: nil) == nil)
        #expect(try await store.job(id: "new", owner: nil)?.status == .queued)
    }

    /// Reopening the file keeps every job: the store is the durable part.
    @Test func jobsSurviveReopening() async throws {
        _ = try await enqueue("j", at: t0)
        let reopened = try SQLiteJobStore(path: scratch.path("jobs.sqlite"))
        #expect(try await reopened.job(id: "j", owner: "alice")?.status == .queued)
    }
}
