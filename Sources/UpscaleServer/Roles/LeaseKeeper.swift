import Foundation
import Inference
import JobStore
import NIOConcurrencyHelpers
import UpscaleCore

/// Runs beside one job on a worker: forwards the pipeline's progress to the hub (every tile) and the store (every tile,
/// other steps at most 4/s), renews the lease on a timer too (a single tile of a big model can outlast it), and keeps
/// what the store answered, so the run stops when the owner cancels or another worker has taken the job.
final class LeaseKeeper: Sendable {
    private let state = NIOLockedValueBox(LeaseState.held)
    private let sink: AsyncStream<PipelineProgress>.Continuation
    private let reporter: Task<Void, Never>
    private let renewer: Task<Void, Never>

    init(
        job: JobRecord, worker: String, store: any JobStore, hub: JobEventHub, leaseSeconds: Double,
        clock: WallClock
    ) {
        let state = self.state
        let (progress, sink) = AsyncStream<PipelineProgress>.makeStream(bufferingPolicy: .bufferingNewest(64))
        self.sink = sink
        reporter = Task {
            var lastWrite = ContinuousClock.now - .seconds(10)
            var lastFraction = -1.0
            for await report in progress {
                let fraction = min(max(report.fraction, 0), 1)
                guard fraction > lastFraction || report.tile != nil else { continue }
                lastFraction = max(lastFraction, fraction)
                let update = JobProgress(
                    fraction: fraction, step: report.step, tilesDone: report.tile?.completed,
                    tilesTotal: report.tile?.total)
                hub.publish(JobEvent(kind: .progress, jobID: job.id, progress: update))
                // Every tile is worth a write (a tile takes far longer than the write), other steps at most 4/s.
                if report.tile != nil || ContinuousClock.now - lastWrite > .milliseconds(250) {
                    lastWrite = ContinuousClock.now
                    let answer =
                        (try? await store.heartbeat(
                            id: job.id, worker: worker, lease: leaseSeconds,
                            progress: update, now: clock.now)) ?? .held
                    if answer != .held { state.withLockedValue { $0 = answer } }
                }
            }
        }
        renewer = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(max(leaseSeconds / 3, 0.2)))
                if Task.isCancelled { break }
                let answer =
                    (try? await store.heartbeat(
                        id: job.id, worker: worker, lease: leaseSeconds,
                        progress: nil, now: clock.now)) ?? .held
                if answer != .held { state.withLockedValue { $0 = answer } }
                // A busy worker is alive too: /health/ready must not fail during a long job.
                try? await store.workerSeen(worker, now: clock.now)
            }
        }
    }

    /// What the store last said: `held` while the job is this worker's to finish.
    var lease: LeaseState { state.withLockedValue { $0 } }

    /// Called from the compute thread for each step and tile.
    func report(_ progress: PipelineProgress) {
        sink.yield(progress)
    }

    /// Stops renewing, after the last progress has been written.
    func stop() async {
        sink.finish()
        renewer.cancel()
        await reporter.value
    }
}
