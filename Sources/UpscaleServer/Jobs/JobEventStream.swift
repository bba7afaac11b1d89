import Foundation
import JobStore

/// `GET /jobs/{id}/events`: the job as Server-Sent Events, from the job's shared watcher (``JobWatchers``): `status` on each change of state,
/// `progress` each time it grows (one per tile from a worker in this process), and a final `done` with the job's end
/// state, after which the stream ends.
struct JobEventStream: Sendable {
    let job: JobRecord
    let owner: String
    let watchers: JobWatchers
    let render: @Sendable (JobRecord, JobProgress?) -> Components.Schemas.Job
    /// Called once when the stream ends, however it ends.
    var onEnd: @Sendable () -> Void = {}

    func bytes() -> AsyncStream<ArraySlice<UInt8>> {
        let (output, sink) = AsyncStream<ArraySlice<UInt8>>.makeStream(bufferingPolicy: .unbounded)
        let updates = watchers.updates(of: job, owner: owner)
        let writer = Task { [render] in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            func send(_ name: String, _ record: JobRecord, _ progress: JobProgress?) {
                let data = (try? encoder.encode(render(record, progress))) ?? Data("{}".utf8)
                sink.yield(ArraySlice(Array("event: \(name)\ndata: ".utf8) + Array(data) + Array("\n\n".utf8)))
            }
            var quietLooks = 0
            for await update in updates {
                switch update {
                case .status(let record):
                    send("status", record, nil)
                case .progress(let record, let progress):
                    send("progress", record, progress)
                case .done(let record):
                    send("done", record, nil)
                case .quiet:
                    // A comment line after ~15 s of quiet keeps proxies from closing a stream whose job waits in the
                    // queue, and is how a vanished client is noticed.
                    quietLooks += 1
                    if quietLooks >= 30 {
                        quietLooks = 0
                        sink.yield(ArraySlice(Array(": keepalive\n\n".utf8)))
                    }
                    continue
                }
                quietLooks = 0
            }
            sink.finish()
        }
        sink.onTermination = { [onEnd] _ in
            writer.cancel()
            onEnd()
        }
        return output
    }
}
