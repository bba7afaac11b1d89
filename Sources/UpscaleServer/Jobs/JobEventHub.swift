import Foundation
import JobStore
import NIOConcurrencyHelpers

/// In-process fan-out of job events, so `serve` can stream every tile's progress and wake a waiting `POST /upscale`
/// (through ``JobWatcher``) and an idle worker at once. Processes that share only the store (api and worker apart)
/// see each other through the store: its notifications where it has them, else a look every poll interval; nothing
/// here is needed for correctness.
final class JobEventHub: Sendable {
    private struct State {
        var subscribers: [String: [UUID: AsyncStream<JobEvent>.Continuation]] = [:]
    }
    private let state = NIOLockedValueBox(State())
    private let queued = WakeSignal()

    /// Events for one job until the stream is dropped.
    func subscribe(jobID: String) -> AsyncStream<JobEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<JobEvent>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        state.withLockedValue { $0.subscribers[jobID, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLockedValue { state in
                state.subscribers[jobID]?[id] = nil
                if state.subscribers[jobID]?.isEmpty == true { state.subscribers[jobID] = nil }
            }
        }
        return stream
    }

    func publish(_ event: JobEvent) {
        let continuations = state.withLockedValue { Array(($0.subscribers[event.jobID] ?? [:]).values) }
        for continuation in continuations { continuation.yield(event) }
    }

    /// Called when this process queues a job, or the store announces one: wakes an idle worker in this process.
    func jobQueued() {
        queued.signal()
    }

    /// An idle worker waits here until a job is queued or `timeout` passes (when it looks in the store anyway).
    func waitForQueuedJob(upTo timeout: Duration) async {
        await queued.wait(upTo: timeout)
    }
}
