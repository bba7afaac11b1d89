import Foundation
import JobStore

/// In-process fan-out of job events, so `serve` can stream every tile's progress and wake a waiting `POST /upscale` at
/// once. Processes that share only the store (api and worker apart) fall back to polling it; nothing here is needed
/// for correctness.
final class JobEventHub: Sendable {
    private struct State {
        var subscribers: [String: [UUID: AsyncStream<JobEvent>.Continuation]] = [:]
        var jobQueued = false
    }
    private let state = LockedState(State())

    /// Events for one job until the stream is dropped.
    func subscribe(jobID: String) -> AsyncStream<JobEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<JobEvent>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        state.withLock { $0.subscribers[jobID, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.subscribers[jobID]?[id] = nil
                if state.subscribers[jobID]?.isEmpty == true { state.subscribers[jobID] = nil }
            }
        }
        return stream
    }

    func publish(_ event: JobEvent) {
        let continuations = state.withLock { Array(($0.subscribers[event.jobID] ?? [:]).values) }
        for continuation in continuations { continuation.yield(event) }
    }

    /// Called when this process queues a job.
    func jobQueued() {
        state.withLock { $0.jobQueued = true }
    }

    /// Whether a job was queued in this process since the last call.
    func takeQueuedSignal() -> Bool {
        state.withLock { state in
            defer { state.jobQueued = false }
            return state.jobQueued
        }
    }
}
