import Foundation
import Testing

@testable import JobStore

extension JobStoreTests {
    /// An input that stops a worker twice fails at the second crash although attempts are left, and so does another
    /// job carrying the same bytes; a job with other bytes runs, the store refuses the input from then on, and the
    /// count is forgotten a week after the last crash (issue 14, item 14).
    @Test(arguments: StoreKind.available)
    func anInputThatStopsTheWorkerTwiceFailsFast(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let (poison, other) = (String(repeating: "ab", count: 32), String(repeating: "cd", count: 32))
            for (id, digest, offset) in [("poison", poison, 0.0), ("twin", poison, 1), ("other", other, 2)] {
                _ = try await store.enqueue(
                    NewJob(
                        id: id, owner: "alice", ownerName: "alice", request: Data("{}".utf8), inputPath: "/in/\(id)",
                        inputWidth: 10, inputHeight: 20, model: "m", inputDigest: digest),
                    limits: QueueLimits(), now: t0.addingTimeInterval(offset))
            }
            func claim(_ worker: String, at seconds: Double) async throws -> JobRecord? {
                try await store.claim(
                    worker: worker, lease: 5, maxAttempts: 5, resultTTL: 60, now: t0.addingTimeInterval(seconds))
            }
            #expect(try await claim("w1", at: 3)?.id == "poison")
            // w1 stops; its lease runs out, and the job goes to the next claim as the oldest queued one.
            let again = try await claim("w2", at: 9)
            #expect(again?.id == "poison" && again?.attempts == 2)
            #expect(try await store.crashes(inputDigest: poison) == 1)
            #expect(try await store.refuses(inputDigest: poison) == false)
            // w2 stops too: the second crash fails both jobs with these bytes; the next claim takes the other job.
            #expect(try await claim("w3", at: 15)?.id == "other")
            for id in ["poison", "twin"] {
                let job = try #require(try await store.job(id: id, owner: nil))
                #expect(job.status == .failed && job.errorCode == .inputCrashedWorker, "\(id): \(job.status)")
                #expect(job.errorMessage?.contains("2 times") == true && job.expiresAt == t0.addingTimeInterval(75))
            }
            #expect(try await store.crashes(inputDigest: poison) == 2)
            #expect(try await store.refuses(inputDigest: poison))
            #expect(try await store.refuses(inputDigest: other) == false)
            _ = try await store.sweep(now: t0.addingTimeInterval(15 + 7 * 24 * 3600 - 1))
            #expect(try await store.crashes(inputDigest: poison) == 2)
            _ = try await store.sweep(now: t0.addingTimeInterval(15 + 7 * 24 * 3600 + 1))
            #expect(try await store.crashes(inputDigest: poison) == 0)
        }
    }

    /// A worker shutting down gives its job back: queued at once (no waiting for the lease), the attempt and no
    /// crash counted; a worker that no longer holds the job cannot give it back.
    @Test(arguments: StoreKind.available)
    func aReleasedJobIsQueuedAgainWithoutACrash(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let digest = String(repeating: "ef", count: 32)
            _ = try await store.enqueue(
                NewJob(
                    id: "j", owner: "alice", ownerName: "alice", request: Data("{}".utf8), inputPath: "/in/j",
                    inputWidth: 10, inputHeight: 20, model: "m", inputDigest: digest),
                limits: QueueLimits(), now: t0)
            _ = try await store.claim(worker: "w1", lease: 60, maxAttempts: 3, resultTTL: 60, now: t0)
            try await store.release(id: "j", worker: "w2")
            #expect(try await store.job(id: "j", owner: nil)?.status == .running)
            try await store.release(id: "j", worker: "w1")
            let queued = try #require(try await store.job(id: "j", owner: nil))
            #expect(queued.status == .queued && queued.attempts == 0 && queued.leaseOwner == nil)
            let again = try await store.claim(
                worker: "w2", lease: 60, maxAttempts: 3, resultTTL: 60, now: t0.addingTimeInterval(1))
            #expect(again?.id == "j" && again?.attempts == 1)
            #expect(try await store.crashes(inputDigest: digest) == 0)
        }
    }
}
