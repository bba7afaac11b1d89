import Foundation
import Imaging
import JobStore
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import UpscaleCore

/// The worker role: takes one job at a time from the store and runs the pipeline on it with all threads.
///
/// The model stays loaded between jobs (the `Upscaler` keeps its engines). The pipeline is synchronous, heavy work, so
/// it runs on a thread of its own rather than on the Swift concurrency pool that also serves HTTP in `serve`. While it
/// runs, every finished tile is published in-process, written to the store as progress, and renews the lease; the
/// store's answer tells the worker when the owner canceled the job.
final class WorkerService: Service, Sendable {
    let id: String
    private let configuration: ServerConfiguration
    private let store: any JobStore
    private let blobs: any BlobStore
    private let hub: JobEventHub
    private let metrics: ServerMetrics
    private let logger: Logger
    private let startedAt: ContinuousClock.Instant
    private let clock: WallClock
    private let stopping = NIOLockedValueBox(false)
    /// Every model call of this worker runs here (see ``ComputeThread``).
    private let compute = ComputeThread(name: "upscaler-compute")

    init(
        configuration: ServerConfiguration, store: any JobStore, blobs: any BlobStore, hub: JobEventHub,
        metrics: ServerMetrics,
        logger: Logger, startedAt: ContinuousClock.Instant, clock: WallClock
    ) {
        var generator = SystemRandomNumberGenerator()
        id =
            "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-"
            + String(UInt32.random(in: 0...UInt32.max, using: &generator), radix: 16)
        self.configuration = configuration
        self.store = store
        self.blobs = blobs
        self.hub = hub
        self.metrics = metrics
        self.logger = logger
        self.startedAt = startedAt
        self.clock = clock
    }

    func run() async throws {
        let upscaler = try await prepare()
        // Jobs queued by other processes wake this worker at once where the store can say so (PostgreSQL).
        let listener = Task { [store, hub, logger] in
            // A store without notifications waits in the call until cancelled; a dropped connection comes back.
            while !Task.isCancelled {
                do {
                    try await store.listenForQueuedJobs { hub.jobQueued() }
                } catch {
                    logger.debug(
                        "job notifications stopped; polling until they resume", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        defer { listener.cancel() }
        await withGracefulShutdownHandler {
            while !stopping.withLockedValue({ $0 }) {
                try? await store.workerSeen(id, now: clock.now)
                let job: JobRecord?
                do {
                    job = try await store.claim(
                        worker: id, lease: configuration.leaseSeconds,
                        maxAttempts: configuration.maxAttempts,
                        resultTTL: configuration.resultTTL, now: clock.now)
                } catch {
                    logger.error("cannot read the job store", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                if let job {
                    await process(job, upscaler: upscaler)
                    continue
                }
                // Idle: a job queued in this process, or announced by the store (PostgreSQL's NOTIFY), wakes the
                // worker at once; other processes' jobs on a store without notifications are found by looking every
                // poll interval.
                await hub.waitForQueuedJob(upTo: .seconds(configuration.pollInterval))
            }
        } onGracefulShutdown: { [stopping, hub] in
            stopping.withLockedValue { $0 = true }
            hub.jobQueued()  // ends an idle wait now rather than at the next look
        }
        logger.info("worker stopped", metadata: ["worker": "\(id)"])
    }

    /// Makes sure the default model is installed (fetching it when allowed) and loads it, so the first job does not
    /// pay for either.
    private func prepare() async throws -> UncheckedUpscaler {
        let store = ModelStore(directory: configuration.modelsDirectory)
        let configuration = self.configuration
        let logger = self.logger
        let (upscaler, target) = try await compute.run { () throws -> (UncheckedUpscaler, ComputeTarget) in
            if (try? store.locate(configuration.defaultModel)) == nil {
                guard configuration.autoFetch else {
                    throw ConfigurationError(
                        "model \(configuration.defaultModel) is not installed in "
                            + "\(configuration.modelsDirectory.path); run `upscaler models fetch` (auto-fetch is off)")
                }
                logger.info("fetching models", metadata: ["directory": "\(configuration.modelsDirectory.path)"])
                try store.fetch(cacheDirectory: configuration.cacheDirectory) { line in logger.info("\(line)") }
            }
            let upscaler = try Upscaler(store: store)
            var options = UpscaleOptions(model: configuration.defaultModel, threads: configuration.threads)
            options.maxInputSide = configuration.maxInputSide
            options.device = configuration.device
            options.precision = configuration.precision
            return (UncheckedUpscaler(upscaler), try upscaler.prepare(options))
        }
        let seconds = (ContinuousClock.now - startedAt).inSeconds
        let threads = configuration.threads
        let place = target == .cpu ? "the CPU, \(threads) thread\(threads == 1 ? "" : "s")" : "\(target)"
        metrics.setWorkerDevice(target)
        ServerAssembly.announce(
            "upscaler worker: ready with \(configuration.defaultModel) on \(place) "
                + "(ready in \(String(format: "%.3f", seconds)) s)")
        logger.notice(
            "worker ready",
            metadata: [
                "worker": "\(id)", "model": "\(configuration.defaultModel)", "threads": "\(configuration.threads)",
                "device": "\(target)", "startup_seconds": "\(String(format: "%.3f", seconds))",
            ])
        return upscaler
    }

    /// One claimed job, in named phases: load the input, run the pipeline with progress (the lease keeper beside it),
    /// store the result, finish. A run that stops (canceled by its owner, taken over, or the worker shutting down)
    /// records nothing.
    private func process(_ job: JobRecord, upscaler: UncheckedUpscaler) async {
        var logger = self.logger
        logger[metadataKey: "job"] = "\(job.id)"
        logger.info("job started", metadata: ["attempt": "\(job.attempts)", "model": "\(job.model)"])
        hub.publish(JobEvent(kind: .status, jobID: job.id, progress: nil))
        let started = ContinuousClock.now

        guard let (request, input) = await loadInput(of: job, logger: logger) else {
            await finish(
                job, .failed(code: .internal, message: "the job's input could not be read"), logger: logger,
                started: started, modelSeconds: nil)
            return
        }
        let keeper = LeaseKeeper(
            job: job, worker: id, store: store, hub: hub, leaseSeconds: configuration.leaseSeconds, clock: clock)
        let outcome: JobOutcome
        var modelSeconds: Double?
        do {
            let (bytes, result) = try await run(request, input: input, upscaler: upscaler, keeper: keeper)
            modelSeconds = result.timings.first { $0.step == "infer" }?.seconds
            outcome = .succeeded(try await storeResult(bytes, of: result, job: job, request: request))
            for warning in result.warnings { logger.notice("job warning", metadata: ["warning": "\(warning)"]) }
        } catch {
            let failure = UpscaleError(error, modelName: request.model)
            if failure.kind == .cancelled {
                await keeper.stop()
                await stopped(job, lease: keeper.lease, model: request.model, logger: logger, started: started)
                return
            }
            if failure.kind == .internalFailure || failure.kind == .modelUnavailable {
                logger.error("job failed", metadata: ["error": "\(failure.message)", "detail": "\(failure.detail)"])
            } else {
                logger.info("job refused the image", metadata: ["error": "\(failure.message)"])
            }
            outcome = .failed(code: Self.code(for: failure.kind), message: failure.message)
        }
        await keeper.stop()
        await finish(job, outcome, logger: logger, started: started, modelSeconds: modelSeconds)
        // An earlier attempt's worker may have stored its result and died before recording it; nobody else knows
        // that key, so the attempt that ended the job removes it.
        if job.attempts > 1 {
            try? await blobs.delete(
                (1..<job.attempts).map { "results/\(job.id)-\($0).\(request.format.fileExtension)" })
        }
    }

    /// Phase 1: the job's options and its uploaded image; nil when either cannot be read.
    private func loadInput(of job: JobRecord, logger: Logger) async -> (JobRequest, [UInt8])? {
        do {
            let request = try JSONDecoder().decode(JobRequest.self, from: job.request)
            guard let stored = try await blobs.get(job.inputPath) else { throw StoreError("no input \(job.inputPath)") }
            return (request, stored)
        } catch {
            logger.error("job input unreadable", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Phase 2: the pipeline on the compute thread, reporting to `keeper`. It stops between tiles when the store
    /// says the job is no longer this worker's, or when shutdown has waited `drainSeconds` for it.
    private func run(
        _ request: JobRequest, input: [UInt8], upscaler: UncheckedUpscaler,
        keeper: LeaseKeeper
    ) async throws -> ([UInt8], UpscaleResult) {
        let drainDeadline = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
        let stopping = self.stopping
        let drainSeconds = configuration.drainSeconds
        let isCancelled: @Sendable () -> Bool = {
            if keeper.lease != .held { return true }
            guard stopping.withLockedValue({ $0 }) else { return false }
            let deadline = drainDeadline.withLockedValue { deadline in
                if deadline == nil { deadline = ContinuousClock.now + .seconds(drainSeconds) }
                return deadline!
            }
            return ContinuousClock.now > deadline
        }
        let options = request.upscaleOptions(configuration)
        return try await compute.run {
            // A tile the client chose is a shape the next job will not have: its buffers go when the job ends
            // rather than staying until the next job plans its own.
            defer { if request.tile != nil { upscaler.value.releaseBuffers() } }
            return try upscaler.value.upscale(data: input, options: options, isCancelled: isCancelled) { progress in
                keeper.report(progress)
            }
        }
    }

    /// Phase 3: the encoded image, under one key per attempt: a worker that lost the job (its lease ran out) must
    /// never touch the result of the worker that took it over. The put is whole or nothing, so a crash leaves no
    /// half-written result.
    private func storeResult(
        _ bytes: [UInt8], of result: UpscaleResult, job: JobRecord,
        request: JobRequest
    ) async throws -> JobResult {
        let key = "results/\(job.id)-\(job.attempts).\(request.format.fileExtension)"
        try await blobs.put(key, bytes)
        return JobResult(
            path: key, width: result.outputWidth, height: result.outputHeight, format: request.format.fileExtension,
            processingSeconds: result.timings.reduce(0) { $0 + $1.seconds }, device: result.device)
    }

    /// A run that stopped records no outcome: a canceled job is final already, a job taken over is another worker's,
    /// and on shutdown the job goes back to the queue, where the next worker takes it at once (not as a crash).
    private func stopped(
        _ job: JobRecord, lease: LeaseState, model: String, logger: Logger,
        started: ContinuousClock.Instant
    ) async {
        logger.notice("job stopped", metadata: ["reason": "\(lease == .held ? "shutdown" : "\(lease)")"])
        if lease == .held {
            do {
                try await store.release(id: job.id, worker: id)
            } catch {
                logger.error("cannot give the job back; its lease will run out", metadata: ["error": "\(error)"])
            }
        }
        if lease == .canceled {
            hub.publish(JobEvent(kind: .done, jobID: job.id, progress: nil))
            metrics.job(
                status: "canceled", model: model, seconds: (ContinuousClock.now - started).inSeconds,
                modelSeconds: nil)
        }
    }

    /// Phase 4: records how the job ended, if this worker still holds it.
    private func finish(
        _ job: JobRecord, _ outcome: JobOutcome, logger: Logger, started: ContinuousClock.Instant,
        modelSeconds: Double?
    ) async {
        do {
            let record = try await store.finish(
                id: job.id, worker: id, outcome: outcome,
                resultTTL: configuration.resultTTL, now: clock.now)
            if record == nil, case .succeeded(let result) = outcome {
                // Canceled (or taken over) while the result was being written: it is nobody's now.
                try? await blobs.delete([result.path])
            }
            let status = record?.status.rawValue ?? "canceled"
            metrics.job(
                status: status, model: job.model, seconds: (ContinuousClock.now - started).inSeconds,
                modelSeconds: modelSeconds)
            logger.info(
                "job finished",
                metadata: [
                    "status": "\(status)",
                    "seconds": "\(String(format: "%.2f", (ContinuousClock.now - started).inSeconds))",
                ])
        } catch {
            logger.error("cannot record the job's result", metadata: ["error": "\(error)"])
        }
        hub.publish(JobEvent(kind: .done, jobID: job.id, progress: nil))
    }

    /// The job error code a pipeline failure becomes; the api maps codes to HTTP statuses.
    static func code(for kind: UpscaleError.Kind) -> ErrorCode {
        switch kind {
        case .invalidInput: .invalidImage
        case .unsupportedFormat: .unsupportedMediaType
        case .tooLarge: .tooLarge
        case .invalidOption: .unprocessable
        case .modelUnavailable: .modelUnavailable
        case .cancelled: .canceled
        case .internalFailure: .internal
        }
    }

}
