import ArgumentParser
import Foundation
import JobStore
import Logging
import UpscaleServer

/// `upscaler bench-store`: how many claim-and-complete cycles per second each job store sustains with trivial jobs and
/// concurrent workers, so it is clear how many real workers one store can feed before the queue is the limit.
struct StoreBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-store",
        abstract: "Measure job-store throughput (claim + complete per second) for SQLite and PostgreSQL.")

    @Option(help: "PostgreSQL URL to measure beside SQLite ($DATABASE_URL); a scratch schema is used and dropped.")
    var database: String?

    @Option(help: "Jobs per run.")
    var jobs: Int = 2000

    @Option(help: "Concurrent workers.")
    var workers: Int = 8

    @Option(help: "Runs per store; the median is reported.")
    var runs: Int = 3

    @Option(
        name: .customLong("job-seconds"),
        help: "A real job's duration, to say how many workers a store can feed (default: x4plus on a 512 px photo).")
    var jobSeconds: Double = 37.7

    func run() async throws {
        guard jobs > 0, workers > 0, runs > 0 else { throw fail("jobs, workers and runs must be positive") }
        let url = database ?? ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        print("\(jobs) trivial jobs, \(workers) concurrent workers, \(runs) runs per store (median shown)")
        print("store          median ops/s      min      max   workers fed at \(jobSeconds) s/job")
        let sqlite = try await measure("SQLite (WAL)") {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "bench-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            return (
                try Stores.sqlite(path: folder.appendingPathComponent("jobs.sqlite").path, blobRoot: folder).jobs,
                {
                    try? FileManager.default.removeItem(at: folder)
                }
            )
        }
        if let url {
            let postgres = try await measure("PostgreSQL") {
                let schema = "bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
                guard let store = try Stores.postgres(url: url, schema: schema, logger: Logger(label: "bench")).postgres
                else { throw fail("the PostgreSQL factory made no PostgreSQL store") }
                let pool = Task { await store.run() }
                try await store.migrate()
                return (
                    store,
                    {
                        try? await store.dropSchema()
                        pool.cancel()
                    }
                )
            }
            print(String(format: "ratio (SQLite / PostgreSQL): %.2fx", sqlite / postgres))
        } else {
            print("(no --database or DATABASE_URL: PostgreSQL not measured)")
        }
    }

    /// Median throughput over `runs` fresh stores.
    private func measure(_ label: String, _ make: () async throws -> (any JobStore, () async -> Void)) async throws
        -> Double
    {
        var rates: [Double] = []
        for _ in 0..<runs {
            let (store, cleanup) = try await make()
            let now = Date()
            for number in 0..<jobs {
                _ = try await store.enqueue(
                    NewJob(
                        id: String(format: "job%07d", number), owner: "bench", ownerName: "bench",
                        request: Data("{}".utf8), inputPath: "", inputWidth: 1, inputHeight: 1,
                        model: "none"), now: now)
            }
            let started = ContinuousClock.now
            let done = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        var count = 0
                        let result = JobResult(path: "", width: 1, height: 1, format: "png", processingSeconds: 0)
                        while let job = try await store.claim(
                            worker: "w\(worker)", lease: 60, maxAttempts: 3,
                            resultTTL: 60, now: Date())
                        {
                            _ = try await store.finish(
                                id: job.id, worker: "w\(worker)", outcome: .succeeded(result),
                                resultTTL: 60, now: Date())
                            count += 1
                        }
                        return count
                    }
                }
                var total = 0
                for try await count in group { total += count }
                return total
            }
            let elapsed = ContinuousClock.now - started
            let seconds = elapsed.inSeconds
            await cleanup()
            guard done == jobs else { throw fail("\(label): \(done) of \(jobs) jobs completed") }
            rates.append(Double(jobs) / seconds)
        }
        let sorted = rates.sorted()
        let median = sorted[sorted.count / 2]
        print(
            String(
                format: "%-14@ %12.0f %8.0f %8.0f   %8.0f", label as NSString, median, sorted.first!, sorted.last!,
                median * jobSeconds))
        return median
    }
}
