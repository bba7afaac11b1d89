import Crypto
import Foundation
import HTTPTypes
import Imaging
import JobStore
import Logging
import NIOPosix
import OpenAPIRuntime
import ServiceLifecycle
import UpscaleCore

/// Queuing a job: everything cheap is checked before the upload is stored.
extension APIHandler {
    /// Validates and queues a job. Everything cheap is checked before the image is stored: the options, the image's
    /// header (format and pixel count, without decoding pixels) and the queue's room.
    func submit(
        image readImage: @escaping @Sendable () throws -> [UInt8], fields: JobRequest.Fields, seedScales: Bool,
        caller: Caller
    ) async throws -> JobRecord {
        try await store.recordRequest(owner: caller.owner, name: caller.name)
        let request = try JobRequest.validated(
            fields, seedScales: seedScales, defaultModel: configuration.defaultModel,
            knownModels: knownModels, maxTile: configuration.maxTile)
        let (image, header, digest) = try await Self.inspect(readImage, maxBodyBytes: configuration.maxBodyBytes)
        let (pixels, overflow) = header.width.multipliedReportingOverflow(by: header.height)
        guard !overflow, pixels <= configuration.maxPixels else {
            throw APIError(
                .contentTooLarge, .tooManyPixels,
                "\(header.width)x\(header.height) is more than the limit of \(configuration.maxPixels) pixels")
        }
        let work = WorkEstimate(
            width: header.width, height: header.height, options: request.upscaleOptions(configuration),
            modelScale: models.first { $0.name == request.model }?.nativeScale)
        if let refusal = work.refusal(maxModelPixels: configuration.maxModelPixels, format: request.format) {
            throw refusal
        }
        // An image that has stopped a worker twice is not queued again (see JobStateMachine+Crashes).
        if try await store.refuses(inputDigest: digest) {
            throw APIError(
                .unprocessableContent, .inputCrashedWorker,
                "this image stopped the worker twice while it was being processed; it is not tried again")
        }
        // A first look before the upload is stored, so a refused request costs little; the insert checks again, in
        // the same step, so concurrent requests cannot pass the limits together.
        let queued = try await store.queuedCount()
        if queued >= configuration.maxQueue { throw Self.refusal(.queueFull(queued: queued)) }
        let active = try await store.activeCount(owner: caller.owner)
        if active >= configuration.maxJobsPerToken { throw Self.refusal(.ownerAtLimit(active: active)) }

        let id = Self.newJobID()
        let inputPath = "inputs/\(id)"
        try await blobs.put(inputPath, image)
        let record: JobRecord
        do {
            let outcome = try await store.enqueue(
                NewJob(
                    id: id, owner: caller.owner, ownerName: caller.name, request: try JSONEncoder().encode(request),
                    inputPath: inputPath, inputWidth: header.width, inputHeight: header.height, model: request.model,
                    inputDigest: digest),
                limits: QueueLimits(
                    maxQueued: configuration.maxQueue,
                    maxActivePerOwner: configuration.maxJobsPerToken),
                now: clock.now)
            guard case .queued(let queuedRecord) = outcome else { throw Self.refusal(outcome) }
            record = queuedRecord
        } catch {
            try? await blobs.delete([inputPath])
            throw error
        }
        hub.jobQueued()
        metrics.setQueueDepth(queued + 1)
        RequestInfo.current?.logger.info(
            "job queued",
            metadata: [
                "job": "\(id)", "token": "\(caller.name)", "size": "\(header.width)x\(header.height)",
                "model": "\(request.model)",
            ])
        return record
    }

    /// The answer to a job the queue limits turned away.
    static func refusal(_ outcome: EnqueueResult) -> APIError {
        switch outcome {
        case .queueFull(let queued):
            APIError.retryLater(
                .serviceUnavailable, .queueFull,
                "the queue is full (\(queued) jobs waiting); try again shortly", seconds: 10)
        case .ownerAtLimit(let active):
            APIError.retryLater(
                .tooManyRequests, .tooManyJobs,
                "this token already has \(active) jobs queued or running, the most it may have at once",
                seconds: 5)
        case .queued:
            APIError.internalFailure("a queued job was treated as refused")
        }
    }

    /// The upload's bytes, header and SHA-256: the part of a submission that costs CPU in proportion to its size
    /// (base64 over tens of megabytes, the header parse, the digest). It runs on the thread pool, so that a large
    /// upload does not hold one of the few threads every other request's tasks share.
    private static func inspect(_ readImage: @escaping @Sendable () throws -> [UInt8], maxBodyBytes: Int)
        async throws -> (image: [UInt8], header: ImageHeader, digest: String)
    {
        try await NIOThreadPool.singleton.runIfActive {
            let image = try readImage()
            guard !image.isEmpty else { throw APIError.badRequest(.missingImage, "the image is empty") }
            guard image.count <= maxBodyBytes else {
                throw APIError(.contentTooLarge, .tooLarge, "the image is larger than \(maxBodyBytes) bytes")
            }
            do {
                return (image, try Imaging.readHeader(data: image), SHA256.hash(data: image).hex)
            } catch let error as ImagingError {
                switch error.code {
                case .unsupportedFormat:
                    throw APIError(
                        .unsupportedMediaType, .unsupportedMediaType, error.message, internalDetail: error.detail)
                default:
                    throw APIError(.badRequest, .invalidImage, error.message, internalDetail: error.detail)
                }
            }
        }
    }
}
