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
    /// Blobs no job names are removed once they are older than this.
    let resultTTL: Double
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
            try await removeOrphans(now: now)
            metrics.setQueueDepth(try await store.queuedCount())
        } catch {
            logger.error("sweep failed", metadata: ["error": "\(error)"])
        }
    }

    /// Blobs no job names, once older than the result TTL: an upload stored before its process crashed (the job was
    /// never queued), a result written by a worker whose lease ran out. Anything younger may be a write whose job
    /// row is on its way.
    private func removeOrphans(now: Date) async throws {
        let old = try await blobs.keys(writtenBefore: now.addingTimeInterval(-resultTTL))
        guard !old.isEmpty else { return }
        let referenced = try await store.referencedBlobs()
        let orphans = old.filter { !referenced.contains($0) }
        guard !orphans.isEmpty else { return }
        try await blobs.delete(orphans)
        logger.info("removed blobs no job names", metadata: ["count": "\(orphans.count)"])
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
