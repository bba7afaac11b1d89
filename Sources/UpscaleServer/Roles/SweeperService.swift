import AtomicFile
import Foundation
import JobStore
import Logging
import ServiceLifecycle

/// Deletes expired results and their jobs, and the inputs of finished jobs, every `sweepInterval`. Files go after the
/// rows, so a download never finds a job whose file is already gone without also finding its expiry passed.
struct SweeperService: Service {
    let store: any JobStore
    let blobs: any BlobStore
    let interval: Double
    /// Folders where writes go through ``AtomicFile``'s temporary files.
    let scratchDirectories: [URL]
    let metrics: ServerMetrics
    let logger: Logger
    let clock: WallClock

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweepOnce(now: clock.now)
                try await Task.sleep(for: .seconds(interval))
            }
        }
    }

    func sweepOnce(now: Date) async {
        do {
            let swept = try await store.sweep(now: now)
            try await blobs.delete(swept.files)
            if !swept.jobIDs.isEmpty {
                logger.info("swept expired results", metadata: ["jobs": "\(swept.jobIDs.count)"])
            }
            removeAbandonedTemporaryFiles(now: now)
            metrics.setQueueDepth(try await store.queuedCount())
        } catch {
            logger.error("sweep failed", metadata: ["error": "\(error)"])
        }
    }

    /// A process killed while writing leaves its temporary file behind; one untouched for an hour is nobody's.
    private func removeAbandonedTemporaryFiles(now: Date) {
        let fm = FileManager.default
        for directory in scratchDirectories {
            guard let names = try? fm.contentsOfDirectory(atPath: directory.path) else { continue }
            for name in names where AtomicFile.isTemporary(name: name) {
                let path = directory.appendingPathComponent(name).path
                guard let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                    now.timeIntervalSince(modified) > 3600
                else { continue }
                try? fm.removeItem(atPath: path)
                logger.info("removed an abandoned temporary file", metadata: ["file": "\(name)"])
            }
        }
    }
}
