import Foundation
import JobStore
import NIOConcurrencyHelpers
import Testing

@testable import UpscaleServer

/// Followers of one job (event streams and `POST /upscale` waits) share one watcher of the store (issue 14, item 8).
@Suite struct JobWatchersTests {
    /// Eight followers of one queued job: each look at the store reaches all eight (as a quiet update), so the store
    /// is read about once per look, not once per follower; all eight see the end. Looks are counted, not timed, so
    /// a machine slowed by other tests changes how long this takes, not what it finds.
    @Test func followersOfOneJobShareOneWatcher() async throws {
        let reads = NIOLockedValueBox(0)
        let server = try InProcessServer(wrap: {
            (ObservedJobStore(base: $0.jobs, beforeJobRead: { reads.withLockedValue { $0 += 1 } }), $0.blobs)
        })
        let owner = try #require(
            server.assembly.tokens.authenticate(authorization: "Bearer \(InProcessServer.tokenA)")?.owner)
        let id = try await server.test { try await $0.createJob(side: 8) }
        let job = try #require(try await server.store.job(id: id, owner: owner))
        let watchers = server.assembly.watchers
        let quiet = NIOLockedValueBox([Int](repeating: 0, count: 8))
        let before = reads.withLockedValue { $0 }
        let ended = try await withThrowingTaskGroup(of: Bool.self) { group in
            for follower in 0..<8 {
                group.addTask {
                    var sawDone = false
                    for await update in watchers.updates(of: job, owner: owner) {
                        switch update {
                        case .quiet: quiet.withLockedValue { $0[follower] += 1 }
                        case .done(let record): sawDone = record.status == .succeeded
                        case .status, .progress: break
                        }
                    }
                    return sawDone
                }
            }
            // Until every follower has seen three looks: eight watchers of their own would have read 24 times. The
            // deadline only stops a hang. Tests share two cooperative threads with suites that run models on them, so
            // on a loaded machine three half-second looks took over two minutes once (a CI rehearsal with a build
            // beside it).
            let deadline = ContinuousClock.now + .seconds(600)
            while quiet.withLockedValue({ $0.min()! }) < 3 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let looks = quiet.withLockedValue { $0 }
            let during = reads.withLockedValue { $0 } - before
            #expect(looks.min()! >= 3, "quiet looks per follower: \(looks)")
            #expect(watchers.watchedJobs == 1)
            #expect(during <= looks.max()! + 2, "\(during) reads of the store for \(looks) looks per follower")
            try await server.completeNextJob()
            var ended = 0
            for try await sawDone in group where sawDone { ended += 1 }
            return ended
        }
        #expect(ended == 8)
        #expect(watchers.watchedJobs == 0)
    }

    /// A follower that joins late, holding a stale record, starts from the state the shared watcher last saw; when
    /// every follower leaves, the watcher stops.
    @Test func lateFollowerStartsFromTheLatestState() async throws {
        let server = try InProcessServer()
        let owner = try #require(
            server.assembly.tokens.authenticate(authorization: "Bearer \(InProcessServer.tokenA)")?.owner)
        let id = try await server.test { try await $0.createJob(side: 8) }
        let queued = try #require(try await server.store.job(id: id, owner: owner))
        let watchers = server.assembly.watchers
        var first = watchers.updates(of: queued, owner: owner).makeAsyncIterator()
        _ = try await server.store.claim(
            worker: "stand-in-1", lease: 30, maxAttempts: 3, resultTTL: 3600, now: server.clock.now)
        // The first follower sees the job start running at the watcher's next look.
        var sawRunning = false
        while !sawRunning, let update = await first.next() {
            if case .status(let record) = update { sawRunning = record.status == .running }
        }
        #expect(sawRunning)
        var late = watchers.updates(of: queued, owner: owner).makeAsyncIterator()
        guard case .status(let start) = await late.next() else {
            Issue.record("a late follower's first update is not a status")
            return
        }
        #expect(start.status == .running && queued.status == .queued)
        #expect(watchers.watchedJobs == 1)
        _ = try await server.store.cancel(id: id, owner: owner, resultTTL: 3600, now: server.clock.now)
        var lateEnd: JobStatus?
        while let update = await late.next() { if case .done(let record) = update { lateEnd = record.status } }
        #expect(lateEnd == .canceled)
        #expect(watchers.watchedJobs == 0)
    }
}
