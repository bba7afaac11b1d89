import Foundation
import NIOConcurrencyHelpers

/// Wakes a waiting task at once: how this process tells its idle worker that it queued a job, instead of the worker
/// looking every few milliseconds. A signal given while nobody waits is kept for the next wait.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        /// Waits that ended (timed out) before their continuation was registered.
        var abandoned: Set<UUID> = []
    }
    private let state = NIOLockedValueBox(State())

    /// Wakes every current waiter, or the next one if none waits.
    func signal() {
        let waiters = state.withLockedValue { state in
            defer { state.waiters = [:] }
            if state.waiters.isEmpty { state.pending = true }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when signalled, or after `timeout`, whichever comes first.
    func wait(upTo timeout: Duration) async {
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLockedValue { state in
                        if state.pending || state.abandoned.remove(id) != nil {
                            state.pending = false
                            return true
                        }
                        state.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // The time ran out first: end the wait that is still registered, or keep it from registering.
            let waiter = state.withLockedValue { state in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    state.abandoned.insert(id)
                    return nil as CheckedContinuation<Void, Never>?
                }
                return waiter
            }
            waiter?.resume()
        }
        state.withLockedValue { _ = $0.abandoned.remove(id) }
    }
}
