import Foundation
import JobStore
import ServiceLifecycle

/// `GET /jobs/{id}/events`: the job as Server-Sent Events.
///
/// In-process events (from a worker in this process) give one `progress` event per tile; the store is also polled
/// every half second, which is how a separate worker process's progress arrives. Progress is only ever sent when it
/// has grown, so it strictly increases. The stream ends with a `done` event carrying the final state.
struct JobEventStream: Sendable {
    let job: JobRecord
    let owner: String
    let store: any JobStore
    let hub: JobEventHub
    let render: @Sendable (JobRecord, JobProgress?) -> Components.Schemas.Job

    func bytes() -> AsyncStream<ArraySlice<UInt8>> {
        let (output, sink) = AsyncStream<ArraySlice<UInt8>>.makeStream(bufferingPolicy: .unbounded)
        let events = hub.subscribe(jobID: job.id)
        let (merged, mergedSink) = AsyncStream<JobEvent?>.makeStream(bufferingPolicy: .unbounded)
        // Two producers into one stream: the hub's events, and a poll tick (nil) every 0.5 s.
        let forward = Task {
            for await event in events { mergedSink.yield(event) }
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                mergedSink.yield(nil)
            }
        }
        let consumer = Task { [job, owner, store, render] in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            func send(_ name: String, _ record: JobRecord, _ progress: JobProgress?) {
                let data = (try? encoder.encode(render(record, progress))) ?? Data("{}".utf8)
                sink.yield(ArraySlice(Array("event: \(name)\ndata: ".utf8) + Array(data) + Array("\n\n".utf8)))
            }
            var record = job
            var lastProgress = record.progress
            var incoming = merged.makeAsyncIterator()
            send("status", record, nil)
            // The stream ends on shutdown too, so that open event streams do not hold the drain up.
            var quietTicks = 0
            while !record.status.isFinal && !Task.isShuttingDownGracefully {
                guard let next = await incoming.next() else { break }
                // A comment line every ~15 s keeps proxies from closing a quiet stream (a job waiting in the queue),
                // and is how a vanished client is noticed.
                if next == nil {
                    quietTicks += 1
                    if quietTicks >= 30 {
                        quietTicks = 0
                        sink.yield(ArraySlice(Array(": keepalive\n\n".utf8)))
                    }
                } else {
                    quietTicks = 0
                }
                if let event = next, event.kind == .progress, let progress = event.progress {
                    if progress.fraction > lastProgress {
                        lastProgress = progress.fraction
                        record.status = .running
                        send("progress", record, progress)
                    }
                    continue
                }
                guard let latest = try? await store.job(id: job.id, owner: owner) else { break }
                let statusChanged = latest.status != record.status
                record = latest
                if statusChanged && !latest.status.isFinal { send("status", record, nil) }
                if !latest.status.isFinal && latest.progress > lastProgress {
                    lastProgress = latest.progress
                    send("progress", record, nil)
                }
            }
            if record.status.isFinal { send("done", record, nil) }
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
