import Foundation
import JobStore
import Logging
import ServiceLifecycle

/// Deletes expired results and their jobs, and the inputs of finished jobs, every `sweepInterval`. Files go after the
/// rows, so a download never finds a job whose file is already gone without also finding its expiry passed.
struct SweeperService: Service {
    let store: any JobStore
    let interval: Double
    let metrics: ServerMetrics
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweepOnce(now: Date())
                try await Task.sleep(for: .seconds(interval))
            }
        }
    }

    func sweepOnce(now: Date) async {
        do {
            let swept = try await store.sweep(now: now)
            for file in swept.files { try? FileManager.default.removeItem(atPath: file) }
            if !swept.jobIDs.isEmpty {
                logger.info("swept expired results", metadata: ["jobs": "\(swept.jobIDs.count)"])
            }
            metrics.setQueueDepth(try await store.queuedCount(owner: nil))
        } catch {
            logger.error("sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
