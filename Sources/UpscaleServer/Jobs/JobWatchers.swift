import Foundation
import JobStore
import NIOConcurrencyHelpers

/// One ``JobWatcher`` per job, shared by every `POST /upscale` wait and event stream that follows it: eight streams
/// on one job cost one look at the store per poll interval, not eight. The watcher starts with the first follower
/// and stops when the last one leaves or the job ends; a follower that joins late starts from the latest state.
final class JobWatchers: Sendable {
    private struct Shared {
        /// Tells this watch from a later one of the same job, so that a stopped watcher's last updates and its end
        /// never reach the followers of the next.
        let generation = UUID()
        var followers: [UUID: AsyncStream<JobWatcher.Update>.Continuation] = [:]
        var latest: JobRecord
        var task: Task<Void, Never>?
    }

    let watcher: JobWatcher
    private let shared = NIOLockedValueBox([String: Shared]())

    init(watcher: JobWatcher) {
        self.watcher = watcher
    }

    /// How many jobs are watched now.
    var watchedJobs: Int { shared.withLockedValue { $0.count } }

    /// Updates of `job` (as `owner` sees it), starting with its latest known state as a ``JobWatcher/Update/status(_:)``.
    func updates(of job: JobRecord, owner: String) -> AsyncStream<JobWatcher.Update> {
        let key = "\(owner) \(job.id)"
        let id = UUID()
        let (stream, continuation) = AsyncStream<JobWatcher.Update>.makeStream(bufferingPolicy: .unbounded)
        shared.withLockedValue { shared in
            if shared[key] != nil {
                continuation.yield(.status(shared[key]!.latest))
                shared[key]!.followers[id] = continuation
                return
            }
            var entry = Shared(followers: [id: continuation], latest: job)
            // Started inside the lock, so a follower leaving at once cannot miss the task it has to stop.
            entry.task = Task { [watcher, generation = entry.generation] in
                for await update in watcher.updates(of: job, owner: owner) {
                    self.send(update, key: key, generation: generation)
                }
                self.end(key, generation: generation)
            }
            shared[key] = entry
        }
        continuation.onTermination = { [weak self] _ in self?.leave(key, id) }
        return stream
    }

    /// The job's state once it is final, or the latest seen when `seconds` pass first (or the server is shutting
    /// down).
    func waitForEnd(of job: JobRecord, owner: String, seconds: Double) async -> JobRecord {
        let latest = NIOLockedValueBox(job)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await update in self.updates(of: job, owner: owner) {
                    switch update {
                    case .status(let record), .progress(let record, _), .done(let record):
                        latest.withLockedValue { $0 = record }
                    case .quiet:
                        break
                    }
                }
            }
            group.addTask { try? await Task.sleep(for: .seconds(seconds)) }
            // Whichever ends first: the updates (the job is final, or watching stopped) or the time.
            await group.next()
            group.cancelAll()
        }
        return latest.withLockedValue { $0 }
    }

    private func send(_ update: JobWatcher.Update, key: String, generation: UUID) {
        let followers = shared.withLockedValue { shared -> [AsyncStream<JobWatcher.Update>.Continuation] in
            guard shared[key]?.generation == generation else { return [] }
            switch update {
            case .status(let record), .progress(let record, _), .done(let record): shared[key]?.latest = record
            case .quiet: break
            }
            return shared[key].map { Array($0.followers.values) } ?? []
        }
        for follower in followers { follower.yield(update) }
    }

    private func end(_ key: String, generation: UUID) {
        let followers = shared.withLockedValue { shared -> [AsyncStream<JobWatcher.Update>.Continuation] in
            guard shared[key]?.generation == generation else { return [] }
            return shared.removeValue(forKey: key).map { Array($0.followers.values) } ?? []
        }
        for follower in followers { follower.finish() }
    }

    private func leave(_ key: String, _ id: UUID) {
        let task = shared.withLockedValue { shared -> Task<Void, Never>? in
            shared[key]?.followers[id] = nil
            guard shared[key]?.followers.isEmpty == true else { return nil }
            return shared.removeValue(forKey: key)?.task
        }
        task?.cancel()
    }
}
