import Foundation
import HTTPTypes
import Imaging
import JobStore
import Logging
import OpenAPIRuntime
import ServiceLifecycle
import UpscaleCore

/// The operations of `openapi.json`. Types and routing are generated from the document; this is the behaviour.
///
/// Failures are thrown as ``APIError`` and rendered by ``ServiceMiddleware``; the error responses in the document
/// describe that rendering.
struct APIHandler: APIProtocol {
    let configuration: ServerConfiguration
    let role: ServerRole
    let store: any JobStore
    let blobs: any BlobStore
    let hub: JobEventHub
    let signer: DownloadSigner
    let metrics: ServerMetrics
    let document: OpenAPIDocument
    /// Model names a job may ask for.
    /// The models GET / lists and requests may name.
    let models: [InstalledModel]
    var knownModels: Set<String> { Set(models.map(\.name)) }
    let clock: WallClock
    /// Open event streams, per token and in all.
    let streams: ConcurrencySlots
    /// Downloads being sent, per client address and in all.
    let downloads: ConcurrencySlots
    /// One watcher per followed job, shared by its waits and event streams.
    let watchers: JobWatchers

    static let version = "0.4.0"

    // MARK: - Service

    func getInfo(_ input: Operations.GetInfo.Input) async throws -> Operations.GetInfo.Output {
        let endpoints = document.operations.map {
            Components.Schemas.EndpointInfo(method: $0.method, path: $0.path, auth: $0.needsToken, summary: $0.summary)
        }
        // An imported model is described by its network, not by the path it came from; one imported as ncnn files,
        // whose scale was never recorded, is usable but not listed.
        let models = self.models.compactMap { model in
            model.nativeScale.map {
                Components.Schemas.ModelInfo(
                    name: model.name, scale: $0,
                    description: model.builtIn ? model.summary : "\(model.architecture ?? "ncnn model"), imported",
                    _default: model.name == configuration.defaultModel)
            }
        }
        let limits = Components.Schemas.Limits(
            maxBodyBytes: Int64(configuration.maxBodyBytes), maxPixels: Int64(configuration.maxPixels),
            maxInputSide: configuration.maxInputSide ?? 0, maxOutputSide: Upscaler.maxOutputSide, scales: [2, 4],
            outputFormats: ["png", "jpg", "webp"], waitSeconds: configuration.waitSeconds,
            resultTtlSeconds: configuration.resultTTL, maxModelPixels: Int64(configuration.maxModelPixels),
            maxTile: configuration.maxTile)
        return .ok(
            .init(
                body: .json(
                    .init(
                        name: "Upscaler", version: Self.version,
                        description:
                            "Real-ESRGAN image super-resolution. POST /upscale with a bearer token and a base64 image.",
                        docs: "/docs", endpoints: endpoints, models: models, limits: limits))))
    }

    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        .ok(.init(body: .json(.init(status: "ok", version: Self.version, role: role.rawValue))))
    }

    func getReadiness(_ input: Operations.GetReadiness.Input) async throws -> Operations.GetReadiness.Output {
        let depth = try? await store.queuedCount()
        let lastWorker = try? await store.lastWorkerSeen()
        let workerAlive = lastWorker.map { clock.now.timeIntervalSince($0) < 30 } ?? false
        let storeOK = depth != nil
        // A full disk reads fine and fails every upload: readiness writes (and removes) a small blob to know.
        let probe = "inputs/ready-probe-\(Self.newJobID())"
        let writable = (try? await blobs.put(probe, [1])) != nil
        try? await blobs.delete([probe])
        let ready = storeOK && workerAlive && writable
        let body = Components.Schemas.Readiness(
            status: ready ? "ready" : "not_ready", store: storeOK,
            worker: workerAlive, queueDepth: depth ?? 0,
            device: metrics.workerDevice?.description, storageWritable: writable)
        return ready ? .ok(.init(body: .json(body))) : .serviceUnavailable(.init(body: .json(body)))
    }

    func getUpscaleUsage(_ input: Operations.GetUpscaleUsage.Input) async throws -> Operations.GetUpscaleUsage.Output {
        let base = RequestInfo.current?.baseURL ?? "http://localhost:8000"
        return .ok(
            .init(
                body: .json(
                    .init(
                        message: "Send a POST request with a bearer token and a JSON body to upscale an image.",
                        method: "POST", contentType: "application/json",
                        example: "curl -X POST \"\(base)/upscale\" -H \"Authorization: Bearer $TOKEN\" "
                            + "-d '{\"image\":\"'\"$(base64 -w0 photo.jpg)\"'\",\"scale\":4,\"output_ext\":\"png\"}'",
                        fields: .init(additionalProperties: [
                            "image": "base64-encoded PNG, JPEG, WebP, TIFF, GIF or HEIF/AVIF (required)",
                            "scale": "2 or 4 (default 4)",
                            "output_ext": "png (default), jpg or webp",
                            "model": "one of GET / models (default \(configuration.defaultModel))",
                        ])))))
    }

    // MARK: - Upscale

    func upscale(_ input: Operations.Upscale.Input) async throws -> Operations.Upscale.Output {
        let caller = try authenticated()
        guard case .json(let body) = input.body else { throw unsupportedBody() }
        let job = try await submit(
            image: Self.jsonImage(body.image), fields: Self.fields(body),
            seedScales: true, caller: caller)
        // On shutdown the wait ends early with 202: the job is durable, and draining should not wait for it.
        let current = await watchers.waitForEnd(of: job, owner: caller.owner, seconds: configuration.waitSeconds)
        switch current.status {
        case .succeeded:
            guard let result = current.result, let expires = current.expiresAt else {
                throw APIError.internalFailure("succeeded job \(job.id) has no result")
            }
            return .ok(
                .init(
                    body: .json(
                        .init(
                            downloadUrl: downloadURL(jobID: job.id, expires: expires), fileId: job.id,
                            originalSize: [current.inputWidth, current.inputHeight],
                            upscaledSize: [result.width, result.height],
                            expiresAt: Self.timestamp(expires), outputFormat: result.format, model: current.model,
                            jobId: job.id,
                            processingSeconds: result.processingSeconds, device: result.device))))
        case .failed, .canceled:
            throw Self.error(forFailed: current)
        case .queued, .running:
            return .accepted(.init(body: .json(accepted(current))))
        }
    }

    func download(_ input: Operations.Download.Input) async throws -> Operations.Download.Output {
        let fileID = input.path.fileId
        switch signer.verify(fileID: fileID, expires: input.query.expires, signature: input.query.sig, now: clock.now) {
        case .badSignature:
            throw APIError(.forbidden, .badSignature, "this download link is not valid (its signature does not match)")
        case .expired:
            throw APIError(.gone, .expired, "this download link has expired")
        case .valid:
            break
        }
        guard let job = try await store.job(id: fileID, owner: nil) else {
            // The signature is ours, so the result existed: it has been swept.
            throw APIError(.gone, .expired, "this result has expired and was deleted")
        }
        guard job.status == .succeeded, let result = job.result else {
            throw APIError.notFound("no result for \(fileID)")
        }
        // Each download holds a chunk of memory and a descriptor while its client reads: a few per address at once.
        let address = RequestInfo.current?.clientAddress ?? "unknown"
        try downloads.take(
            for: address, code: .tooManyDownloads,
            mine: "this address is already downloading \(downloads.perKey) files; try again when one is done",
            everyone: "the server is sending as many files as it can; try again shortly")
        let slot = SlotHolder(slots: downloads, key: address)
        guard let stored = try await blobs.chunks(result.path) else {
            throw APIError(.gone, .expired, "this result has expired and was deleted", internalDetail: result.path)
        }
        let headers = Operations.Download.Output.Ok.Headers(
            contentDisposition: "attachment; filename=\"upscaled-\(fileID).\(result.format)\"")
        // Streamed from the store; the slot is given back when the body is done with, however it ends.
        let pieces = AsyncThrowingStream<ArraySlice<UInt8>, any Error>(unfolding: { [slot] in
            guard let chunk = try await stored.next(slot.advance()) else { return nil }
            return ArraySlice(chunk)
        })
        let body = HTTPBody(pieces, length: .known(Int64(stored.length)), iterationBehavior: .single)
        // The store keeps the format as the result's file extension.
        switch ImageFormat(name: result.format) ?? .png {
        case .jpeg: return .ok(.init(headers: headers, body: .jpeg(body)))
        case .webp: return .ok(.init(headers: headers, body: .imageWebp(body)))
        case .png: return .ok(.init(headers: headers, body: .png(body)))
        }
    }

    // MARK: - Jobs

    func createJob(_ input: Operations.CreateJob.Input) async throws -> Operations.CreateJob.Output {
        let caller = try authenticated()
        // Read on the thread pool by `submit`: base64 decoding costs in proportion to the body.
        let image: @Sendable () throws -> [UInt8]
        var fields = JobRequest.Fields()
        switch input.body {
        case .json(let body):
            fields = Self.fields(body)
            _ = try JobRequest.validated(
                fields, seedScales: false, defaultModel: configuration.defaultModel,
                knownModels: knownModels, maxTile: configuration.maxTile)
            image = Self.jsonImage(body.image)
        case .multipartForm(let parts):
            var found: [UInt8]?
            do {
                for try await part in parts {
                    switch part {
                    case .image(let file): found = try await collect(file.payload.body)
                    case .scale(let value):
                        fields.scale = try await Self.number(value.payload.body, "scale", code: .invalidScale)
                    case .outputExt(let value): fields.outputExt = try await Self.text(value.payload.body, "output_ext")
                    case .model(let value): fields.model = try await Self.text(value.payload.body, "model")
                    case .undocumented(let part):
                        // Unknown fields are ignored, but their bytes must be read for the next part to arrive.
                        for try await _ in part.body {}
                    }
                }
            } catch let error as APIError {
                throw error
            } catch  where String(describing: error).hasPrefix("Missing required parts") {
                // OpenAPIRuntime's check of the document's required parts; `image` is the only one.
                throw APIError.badRequest(.missingImage, "the form has no 'image' file part")
            } catch {
                // The form is parsed as it streams in: a bad boundary, a part without a name, a field given twice
                // or a body that is not a form at all surface here, and are the client's to fix.
                throw APIError(
                    .badRequest, .invalidRequest,
                    "the multipart form is malformed; send one 'image' file part and at most one of each field",
                    internalDetail: String(describing: error))
            }
            guard let found else { throw APIError.badRequest(.missingImage, "the form has no 'image' file part") }
            image = { found }
            // Query parameters also apply to a form, for clients that cannot add fields.
            fields.scale = fields.scale ?? input.query.scale
            fields.outputExt = fields.outputExt ?? input.query.outputExt
            fields.model = fields.model ?? input.query.model
            fields.quality = input.query.quality
        case .image_Ast_(let body), .binary(let body):
            let bytes = try await collect(body)
            image = { bytes }
            fields.scale = input.query.scale
            fields.outputExt = input.query.outputExt
            fields.model = input.query.model
            fields.quality = input.query.quality
        }
        let job = try await submit(image: image, fields: fields, seedScales: false, caller: caller)
        return .accepted(.init(body: .json(accepted(job))))
    }

    func getJob(_ input: Operations.GetJob.Input) async throws -> Operations.GetJob.Output {
        let caller = try authenticated()
        guard let job = try await store.job(id: input.path.id, owner: caller.owner) else { throw noSuchJob() }
        return .ok(.init(body: .json(view(job))))
    }

    func cancelJob(_ input: Operations.CancelJob.Input) async throws -> Operations.CancelJob.Output {
        let caller = try authenticated()
        guard
            let job = try await store.cancel(
                id: input.path.id, owner: caller.owner,
                resultTTL: configuration.resultTTL, now: clock.now)
        else { throw noSuchJob() }
        hub.publish(JobEvent(kind: .done, jobID: job.id, progress: nil))
        return .ok(.init(body: .json(view(job))))
    }

    func getJobEvents(_ input: Operations.GetJobEvents.Input) async throws -> Operations.GetJobEvents.Output {
        let caller = try authenticated()
        guard let job = try await store.job(id: input.path.id, owner: caller.owner) else { throw noSuchJob() }
        try streams.take(
            for: caller.owner, code: .tooManyStreams,
            mine: "this token already has \(streams.perKey) event streams open; close one first",
            everyone: "the server has as many event streams open as it serves; poll GET /jobs/{id} or try again shortly"
        )
        var stream = JobEventStream(job: job, owner: caller.owner, watchers: watchers) {
            record, progress in
            view(record, progress: progress)
        }
        stream.onEnd = { [streams, owner = caller.owner] in streams.giveBack(for: owner) }
        return .ok(
            .init(body: .textEventStream(HTTPBody(stream.bytes(), length: .unknown, iterationBehavior: .single))))
    }

    func getUsage(_ input: Operations.GetUsage.Input) async throws -> Operations.GetUsage.Output {
        let caller = try authenticated()
        let usage = try await store.usage(owner: caller.owner) ?? Usage(ownerName: caller.name)
        return .ok(
            .init(
                body: .json(
                    .init(
                        token: caller.name, requests: usage.requests, jobsSucceeded: usage.jobsSucceeded,
                        jobsFailed: usage.jobsFailed, inputMegapixels: usage.inputMegapixels,
                        outputMegapixels: usage.outputMegapixels, computeSeconds: usage.computeSeconds))))
    }

    // MARK: - Helpers

    private func authenticated() throws -> Caller {
        guard let caller = RequestInfo.caller else { throw APIError.unauthorized }
        return caller
    }

    private func noSuchJob() -> APIError { .notFound("no job with this id") }

    /// Takes one of `slots` for `key`, or answers 429 with `mine` (this key holds its share) or 503 with `everyone`
    /// (the server holds all it serves), with `code` and `Retry-After`.
    private func unsupportedBody() -> APIError {
        APIError(.unsupportedMediaType, .unsupportedMediaType, "send the request as JSON")
    }

    static func newJobID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max, using: &generator)) }
            .joined()
    }
}
