import Foundation
import Logging
import Testing

@testable import JobStore

/// Which store a behaviour test runs on. PostgreSQL joins when `UPSCALER_TEST_DATABASE_URL` names a server
/// (`scripts/test.sh` starts one); each test then gets a schema of its own.
enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case memory, sqlite, postgres
    var description: String { rawValue }

    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["UPSCALER_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }
    static var available: [StoreKind] { [.memory] + shared }
    /// The stores several processes can share: what the process tests run on.
    static var shared: [StoreKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }
}

/// The job store's behaviour, one suite for every store, with time moved by hand.
struct JobStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// A fresh, migrated store of `kind` for `body`.
    func withStore(_ kind: StoreKind, _ body: (any JobStore) async throws -> Void) async throws {
        let scratch = try Scratch()
        switch kind {
        case .memory:
            try await body(Stores.memory().jobs)
        case .sqlite:
            try await body(
                try Stores.sqlite(
                    path: scratch.path("jobs.sqlite"), blobRoot: URL(fileURLWithPath: scratch.path("blobs"))
                ).jobs)
        case .postgres:
            let url = try #require(StoreKind.postgresURL)
            let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            let store = try #require(
                try Stores.postgres(url: url, schema: schema, logger: Logger(label: "test")).postgres)
            let pool = Task { await store.run() }
            defer { pool.cancel() }
            try await store.migrate()
            try await body(store)
        }
    }

    func enqueue(_ store: any JobStore, _ id: String, owner: String = "alice", at time: Date) async throws -> JobRecord
    {
        try await store.enqueue(
            NewJob(
                id: id, owner: owner, ownerName: owner, request: Data("{}".utf8),
                inputPath: "/in/\(id)", inputWidth: 10, inputHeight: 20, model: "m"), now: time)
    }

    @Test(arguments: StoreKind.available)
    func claimsOldestFirstAndOnlyOnce(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await enqueue(store, "b", at: t0.addingTimeInterval(1))
            _ = try await enqueue(store, "a", at: t0)
            let first = try await store.claim(
                worker: "w1", lease: 10, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(2))
            let second = try await store.claim(
                worker: "w2", lease: 10, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(2))
            let third = try await store.claim(
                worker: "w3", lease: 10, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(2))
            #expect(first?.id == "a" && first?.status == .running && first?.attempts == 1 && first?.leaseOwner == "w1")
            #expect(second?.id == "b")
            #expect(third == nil)
        }
    }

    /// A worker that stops renewing loses the job to the next claim after its lease, and can no longer finish it.
    @Test(arguments: StoreKind.available)
    func expiredLeaseIsTakenAgainAndTheOldWorkerIsLocked(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await enqueue(store, "j", at: t0)
            _ = try await store.claim(worker: "w1", lease: 5, maxAttempts: 3, resultTTL: 60, now: t0)
            #expect(
                try await store.claim(
                    worker: "w2", lease: 5, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(4)) == nil)
            let retaken = try await store.claim(
                worker: "w2", lease: 5, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(6))
            #expect(retaken?.attempts == 2 && retaken?.leaseOwner == "w2")
            #expect(
                try await store.heartbeat(id: "j", worker: "w1", lease: 5, progress: nil, now: t0.addingTimeInterval(6))
                    == .lost)
            let late = JobResult(path: "/out/j.png", width: 40, height: 80, format: "png", processingSeconds: 1)
            #expect(
                try await store.finish(
                    id: "j", worker: "w1", outcome: .succeeded(late), resultTTL: 60, now: t0.addingTimeInterval(7))
                    == nil)
            let done = try await store.finish(
                id: "j", worker: "w2", outcome: .succeeded(late), resultTTL: 60, now: t0.addingTimeInterval(8))
            #expect(done?.status == .succeeded && done?.result == late && done?.expiresAt == t0.addingTimeInterval(68))
        }
    }

    @Test(arguments: StoreKind.available)
    func attemptLimitFailsTheJobWithAReason(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await enqueue(store, "j", at: t0)
            _ = try await store.claim(worker: "w1", lease: 5, maxAttempts: 2, resultTTL: 60, now: t0)
            _ = try await store.claim(
                worker: "w2", lease: 5, maxAttempts: 2, resultTTL: 60, now: t0.addingTimeInterval(6))
            #expect(
                try await store.claim(
                    worker: "w3", lease: 5, maxAttempts: 2, resultTTL: 60, now: t0.addingTimeInterval(12)) == nil)
            let job = try await store.job(id: "j", owner: nil)
            #expect(job?.status == .failed && job?.errorCode == .workerLost && job?.attempts == 2)
            #expect(job?.errorMessage?.contains("2 times") == true)
        }
    }

    @Test(arguments: StoreKind.available)
    func jobsBelongToTheirOwner(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await enqueue(store, "j", owner: "alice", at: t0)
            #expect(try await store.job(id: "j", owner: "bob") == nil)
            #expect(try await store.cancel(id: "j", owner: "bob", resultTTL: 60, now: t0) == nil)
            #expect(try await store.job(id: "j", owner: "alice")?.status == .queued)
        }
    }

    /// The queue depth counts queued jobs only; a token's cap counts its queued and running jobs, not finished ones
    /// and not other tokens'.
    @Test(arguments: StoreKind.available)
    func queueDepthAndActiveJobsPerOwner(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for (id, owner) in [("a1", "alice"), ("a2", "alice"), ("a3", "alice"), ("b1", "bob")] {
                _ = try await enqueue(store, id, owner: owner, at: t0)
            }
            let running = try #require(
                try await store.claim(worker: "w", lease: 60, maxAttempts: 3, resultTTL: 60, now: t0))
            #expect(running.id == "a1")
            let done = JobResult(path: "r", width: 1, height: 1, format: "png", processingSeconds: 0)
            let second = try #require(
                try await store.claim(worker: "w2", lease: 60, maxAttempts: 3, resultTTL: 60, now: t0))
            _ = try await store.finish(id: second.id, worker: "w2", outcome: .succeeded(done), resultTTL: 60, now: t0)
            // a1 running, b1 finished (bob had no running job, so b1 went before a2), a2 and a3 queued.
            #expect(second.id == "b1")
            #expect(try await store.queuedCount() == 2)
            #expect(try await store.activeCount(owner: "alice") == 3)
            #expect(try await store.activeCount(owner: "bob") == 0)
            #expect(try await store.activeCount(owner: "carol") == 0)
        }
    }

    /// Twelve requests of one owner race to queue under a cap of three: exactly three get in, whichever connection
    /// each used. Past the queue limit nobody gets in, and a refused job leaves no row.
    @Test(arguments: StoreKind.available)
    func enqueueLimitsHoldUnderConcurrency(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let limits = QueueLimits(maxQueued: 5, maxActivePerOwner: 3)
            let results = try await withThrowingTaskGroup(of: EnqueueResult.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        try await store.enqueue(
                            NewJob(
                                id: "a\(index)", owner: "alice", ownerName: "alice",
                                request: Data("{}".utf8), inputPath: "inputs/a\(index)",
                                inputWidth: 1, inputHeight: 1, model: "m"),
                            limits: limits, now: t0)
                    }
                }
                var all: [EnqueueResult] = []
                for try await result in group { all.append(result) }
                return all
            }
            let queued = results.filter { if case .queued = $0 { true } else { false } }
            #expect(queued.count == 3)
            #expect(results.allSatisfy { if case .ownerAtLimit(let active) = $0 { active == 3 } else { true } })
            #expect(try await store.activeCount(owner: "alice") == 3)
            for owner in ["bob", "carol", "dave"] {
                _ = try await store.enqueue(
                    NewJob(
                        id: owner, owner: owner, ownerName: owner, request: Data("{}".utf8),
                        inputPath: "", inputWidth: 1, inputHeight: 1, model: "m"),
                    limits: limits, now: t0)
            }
            // bob and carol fill the queue to 5; dave is turned away.
            #expect(try await store.queuedCount() == 5)
            #expect(try await store.job(id: "dave", owner: nil) == nil)
        }
    }

    /// Claims go to the owner with the fewest running jobs first, oldest job first among equals: alice queued four
    /// jobs before bob's one, yet bob's runs second, not fifth.
    @Test(arguments: StoreKind.available)
    func claimOrderKeepsOneOwnerFromTakingEveryWorker(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for index in 0..<4 {
                _ = try await enqueue(store, "a\(index)", owner: "alice", at: t0.addingTimeInterval(Double(index)))
            }
            _ = try await enqueue(store, "b0", owner: "bob", at: t0.addingTimeInterval(10))
            _ = try await enqueue(store, "c0", owner: "carol", at: t0.addingTimeInterval(11))
            var order: [String] = []
            for worker in 0..<6 {
                let job = try await store.claim(
                    worker: "w\(worker)", lease: 60, maxAttempts: 3, resultTTL: 60,
                    now: t0.addingTimeInterval(20))
                order.append(job?.id ?? "-")
            }
            #expect(order == ["a0", "b0", "c0", "a1", "a2", "a3"])
        }
    }

    /// The token bucket matches a plain model of one, step by step, with time moved by hand: a burst, the refusal
    /// after it, refill at the rate, the cap at the burst size, and a clock that goes back refilling nothing.
    @Test(arguments: StoreKind.available)
    func rateBucketMatchesAReferenceModel(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let policy = RateLimitPolicy(burst: 3, perSecond: 0.5)
            var model = ReferenceBucket(capacity: 3, rate: 0.5)
            // Offsets in seconds from t0, each one request.
            let times: [Double] = [0, 0, 0, 0, 1, 2, 2.5, 4, 100, 100, 100, 100, 99, 101.9, 102]
            for time in times {
                let expected = model.take(at: time)
                let decision = try await store.takeRateToken(
                    bucket: "k", policy: policy, now: t0.addingTimeInterval(time))
                #expect(decision.allowed == expected.allowed, "at \(time)")
                #expect(
                    abs(decision.level - expected.level) < 1e-6, "at \(time): \(decision.level) vs \(expected.level)")
            }
            // Buckets are separate.
            #expect(
                try await store.takeRateToken(bucket: "other", policy: policy, now: t0.addingTimeInterval(4)).level == 2
            )
        }
    }

    /// Forty requests race for a bucket of ten that refills nothing meanwhile: exactly ten get through, whichever
    /// connection or process each came from.
    @Test(arguments: StoreKind.available)
    func concurrentRequestsShareOneBucket(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let policy = RateLimitPolicy(burst: 10, perSecond: 1e-6)
            let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await store.takeRateToken(bucket: "k", policy: policy, now: t0).allowed }
                }
                var count = 0
                for try await ok in group where ok { count += 1 }
                return count
            }
            #expect(allowed == 10)
        }
    }

    /// Cancel: a queued job never runs; a running one's worker is told at its next heartbeat and cannot record a
    /// result; a finished job stays as it was.
    @Test(arguments: StoreKind.available)
    func cancelSemantics(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await enqueue(store, "q", at: t0)
            _ = try await enqueue(store, "r", at: t0.addingTimeInterval(1))
            #expect(try await store.cancel(id: "q", owner: "alice", resultTTL: 60, now: t0)?.status == .canceled)
            let running = try await store.claim(
                worker: "w", lease: 30, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(2))
            #expect(running?.id == "r", "the canceled job is skipped")
            #expect(
                try await store.cancel(id: "r", owner: "alice", resultTTL: 60, now: t0.addingTimeInterval(3))?.status
                    == .canceled)
            let progress = JobProgress(fraction: 0.5, step: "infer", tilesDone: 1, tilesTotal: 2)
            #expect(
                try await store.heartbeat(
                    id: "r", worker: "w", lease: 30, progress: progress, now: t0.addingTimeInterval(4)) == .canceled)
            #expect(
                try await store.finish(
                    id: "r", worker: "w", outcome: .failed(code: .invalidImage, message: "y"), resultTTL: 60,
                    now: t0.addingTimeInterval(5)) == nil)
            #expect(
                try await store.cancel(id: "r", owner: "alice", resultTTL: 60, now: t0.addingTimeInterval(6))?.status
                    == .canceled)
        }
    }

    @Test(arguments: StoreKind.available)
    func progressOnlyGrowsAndUsageAddsUp(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await enqueue(store, "j", at: t0)
            try await store.recordRequest(owner: "alice", name: "alice")
            _ = try await store.claim(worker: "w", lease: 30, maxAttempts: 3, resultTTL: 60, now: t0)
            _ = try await store.heartbeat(
                id: "j", worker: "w", lease: 30, progress: JobProgress(fraction: 0.6, step: "infer"), now: t0)
            _ = try await store.heartbeat(
                id: "j", worker: "w", lease: 30, progress: JobProgress(fraction: 0.4, step: "infer"), now: t0)
            #expect(try await store.job(id: "j", owner: nil)?.progress == 0.6)
            let result = JobResult(path: "/out/j.png", width: 1000, height: 2000, format: "png", processingSeconds: 2.5)
            _ = try await store.finish(
                id: "j", worker: "w", outcome: .succeeded(result), resultTTL: 60, now: t0.addingTimeInterval(3))
            let usage = try await store.usage(owner: "alice")
            #expect(
                usage
                    == Usage(
                        ownerName: "alice", requests: 1, jobsSucceeded: 1, jobsFailed: 0,
                        inputMegapixels: 200.0 / 1e6, outputMegapixels: 2.0, computeSeconds: 2.5))
        }
    }

    /// The sweep removes expired jobs and hands back their files, and frees finished jobs' inputs.
    @Test(arguments: StoreKind.available)
    func sweepReturnsFilesOfExpiredJobs(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await enqueue(store, "old", at: t0)
            _ = try await enqueue(store, "new", at: t0.addingTimeInterval(1))
            _ = try await store.claim(worker: "w", lease: 30, maxAttempts: 3, resultTTL: 60, now: t0)
            let result = JobResult(path: "/out/old.png", width: 1, height: 1, format: "png", processingSeconds: 0)
            _ = try await store.finish(
                id: "old", worker: "w", outcome: .succeeded(result), resultTTL: 10, now: t0.addingTimeInterval(1))
            // What the orphan sweep must leave alone: every input and result a row names.
            #expect(try await store.referencedBlobs() == ["/in/old", "/in/new", "/out/old.png"])
            let early = try await store.sweep(now: t0.addingTimeInterval(5))
            #expect(early.jobIDs.isEmpty && early.files == ["/in/old"])
            #expect(try await store.referencedBlobs() == ["/in/new", "/out/old.png"], "a cleared input is no one's")
            let late = try await store.sweep(now: t0.addingTimeInterval(20))
            #expect(late.jobIDs == ["old"] && late.files == ["/out/old.png"])
            #expect(try await store.job(id: "old", owner: nil) == nil)
            #expect(try await store.job(id: "new", owner: nil)?.status == .queued)
        }
    }

    /// Reopening the SQLite file keeps every job: the store is the durable part.
    @Test func sqliteJobsSurviveReopening() async throws {
        let scratch = try Scratch()
        let store = try SQLiteJobStore(path: scratch.path("jobs.sqlite"))
        _ = try await enqueue(store, "j", at: t0)
        let reopened = try SQLiteJobStore(path: scratch.path("jobs.sqlite"))
        #expect(try await reopened.job(id: "j", owner: "alice")?.status == .queued)
    }

    /// Eight workers claim at once until the queue is empty: every job is taken exactly once.
    @Test(arguments: StoreKind.available)
    func concurrentClaimersNeverShareAJob(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for index in 0..<40 { _ = try await enqueue(store, String(format: "job%02d", index), at: t0) }
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var mine: [String] = []
                        while let job = try await store.claim(
                            worker: "w\(worker)", lease: 60, maxAttempts: 3,
                            resultTTL: 60, now: t0.addingTimeInterval(1))
                        {
                            mine.append(job.id)
                        }
                        return mine
                    }
                }
                var all: [String] = []
                for try await ids in group { all += ids }
                return all
            }
            #expect(
                claimed.count == 40 && Set(claimed).count == 40,
                "\(claimed.count) claims, \(Set(claimed).count) distinct")
        }
    }
}

/// The one rewrite between the engines' parameter styles, against answers written out by hand.
struct JobStatementTests {
    @Test func namedParametersAreNumberedInOrderOfFirstUse() {
        let statement = JobStatement(
            "UPDATE t SET a = :x, b = :y::text WHERE c < :x AND d = ':' AND e = :z_1",
            ["x": .integer(1), "y": .text("two"), "z_1": .real(nil)])
        let (sql, values) = statement.numbered
        #expect(sql == "UPDATE t SET a = $1, b = $2::text WHERE c < $1 AND d = ':' AND e = $3")
        #expect(values.count == 3)
    }
}

/// Each blob store lists what was written before a time, uploads and results alike, and nothing written after.
struct BlobKeysTests {
    @Test(arguments: StoreKind.available)
    func keysWrittenBefore(_ kind: StoreKind) async throws {
        let scratch = try Scratch()
        let blobs: any BlobStore
        var pool: Task<Void, Never>?
        switch kind {
        case .memory: blobs = MemoryBlobStore()
        case .sqlite: blobs = FileBlobStore(root: URL(fileURLWithPath: scratch.path("blobs")))
        case .postgres:
            let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            let url = try #require(StoreKind.postgresURL)
            let made = try Stores.postgres(url: url, schema: schema, logger: Logger(label: "t"))
            let store = try #require(made.postgres)
            pool = Task { await store.run() }
            try await store.migrate()
            blobs = store
        }
        defer { pool?.cancel() }
        try await blobs.put("inputs/a", [1])
        try await blobs.put("results/a-1.png", [2])
        #expect(try await blobs.keys(writtenBefore: Date().addingTimeInterval(60)) == ["inputs/a", "results/a-1.png"])
        #expect(try await blobs.keys(writtenBefore: Date().addingTimeInterval(-60)).isEmpty)
    }
}
