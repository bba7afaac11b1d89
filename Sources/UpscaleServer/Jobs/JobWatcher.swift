import Foundation
import JobStore
import ServiceLifecycle

/// Follows one job until it is final: the one waiter behind both `POST /upscale` (which waits for the end) and
/// `GET /jobs/{id}/events` (which shows every step), shared by all of a job's followers through ``JobWatchers``.
///
/// A worker in this process publishes on the hub, which wakes the watcher at once, with every tile's progress. The
/// store is read after each other event and every `pollInterval`, which is how a worker in another process is seen.
/// Progress is only reported when it has grown, so it strictly increases. Watching ends on graceful shutdown too, so
/// that open waits and streams do not hold the drain up.
struct JobWatcher: Sendable {
    enum Update: Sendable {
        /// The job moved to a state that is not final (queued to running, or taken again).
        case status(JobRecord)
        /// Progress grew; `progress` carries the tile counts when a worker in this process reported them.
        case progress(JobRecord, JobProgress?)
        /// The final state; the last update.
        case done(JobRecord)
        /// A look at the store found nothing new.
        case quiet
    }

    let store: any JobStore
    let hub: JobEventHub
    var pollInterval: Duration = .milliseconds(500)

    /// Updates of `job` (as `owner` sees it), starting with its current state as a ``Update/status(_:)``.
    func updates(of job: JobRecord, owner: String) -> AsyncStream<Update> {
        let (output, sink) = AsyncStream<Update>.makeStream(bufferingPolicy: .unbounded)
        let events = hub.subscribe(jobID: job.id)
        let (merged, mergedSink) = AsyncStream<JobEvent?>.makeStream(bufferingPolicy: .unbounded)
        // Two producers into one stream: the hub's events, and a poll tick (nil) every `pollInterval`.
        let forward = Task {
            for await event in events { mergedSink.yield(event) }
        }
        let ticker = Task { [pollInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: pollInterval)
                mergedSink.yield(nil)
            }
        }
        let consumer = Task { [store] in
            var record = job
            var lastProgress = record.progress
            var incoming = merged.makeAsyncIterator()
            sink.yield(.status(record))
            while !record.status.isFinal && !Task.isShuttingDownGracefully {
                guard let next = await incoming.next() else { break }
                if let event = next, event.kind == .progress, let progress = event.progress {
                    if progress.fraction > lastProgress {
                        lastProgress = progress.fraction
                        record.status = .running
                        sink.yield(.progress(record, progress))
                    }
                    continue
                }
                guard let latest = try? await store.job(id: job.id, owner: owner) else { break }
                let statusChanged = latest.status != record.status
                record = latest
                if statusChanged && !latest.status.isFinal { sink.yield(.status(record)) }
                if !latest.status.isFinal && latest.progress > lastProgress {
                    lastProgress = latest.progress
                    sink.yield(.progress(record, nil))
                } else if !statusChanged && next == nil {
                    sink.yield(.quiet)
                }
            }
            if record.status.isFinal { sink.yield(.done(record)) }
            sink.finish()
        }
        sink.onTermination = { _ in
            forward.cancel()
            ticker.cancel()
            consumer.cancel()
            mergedSink.finish()
        }
        return output
    }
}
