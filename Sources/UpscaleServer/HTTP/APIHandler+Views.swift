import Foundation
import HTTPTypes
import Imaging
import JobStore
import OpenAPIRuntime
import ServiceLifecycle
import UpscaleCore

extension APIHandler {
    // MARK: - Views

    func view(_ job: JobRecord, progress: JobProgress? = nil) -> Components.Schemas.Job {
        var view = Components.Schemas.Job(
            id: job.id, status: Components.Schemas.JobStatus(rawValue: job.status.rawValue) ?? .failed,
            progress: progress?.fraction ?? job.progress, tilesDone: progress?.tilesDone ?? job.tilesDone,
            tilesTotal: progress?.tilesTotal ?? job.tilesTotal, step: progress?.step ?? job.step, model: job.model,
            attempts: job.attempts, createdAt: Self.timestamp(job.createdAt),
            startedAt: job.startedAt.map(Self.timestamp), finishedAt: job.finishedAt.map(Self.timestamp),
            originalSize: [job.inputWidth, job.inputHeight])
        if let started = job.startedAt { view.queueSeconds = started.timeIntervalSince(job.createdAt) }
        if let result = job.result, job.status == .succeeded, let expires = job.expiresAt {
            view.processingSeconds = result.processingSeconds
            view.device = result.device
            view.upscaledSize = [result.width, result.height]
            view.outputFormat = result.format
            view.downloadUrl = downloadURL(jobID: job.id, expires: expires)
            view.expiresAt = Self.timestamp(expires)
        }
        if job.status == .failed || job.status == .canceled {
            // The same public wording POST /upscale answers with; the worker's own text can name internals.
            let error = Self.error(forFailed: job)
            view.error = .init(code: error.code.rawValue, message: error.message)
        }
        return view
    }

    func accepted(_ job: JobRecord) -> Components.Schemas.JobAccepted {
        let base = RequestInfo.current?.baseURL ?? ""
        return .init(
            id: job.id, status: Components.Schemas.JobStatus(rawValue: job.status.rawValue) ?? .queued,
            statusUrl: "\(base)/jobs/\(job.id)", eventsUrl: "\(base)/jobs/\(job.id)/events")
    }

    func downloadURL(jobID: String, expires: Date) -> String {
        let seconds = Int64(expires.timeIntervalSince1970.rounded(.down))
        let base = RequestInfo.current?.baseURL ?? ""
        return "\(base)/download/\(jobID)?expires=\(seconds)&sig=\(signer.signature(fileID: jobID, expires: seconds))"
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false))
    }

    /// The HTTP error a failed or canceled job is answered with.
    static func error(forFailed job: JobRecord) -> APIError {
        let message = job.errorMessage ?? "the job failed"
        let code = job.errorCode ?? .internal
        switch code {
        case .invalidImage, .invalidBase64, .missingImage, .invalidRequest, .invalidJSON, .invalidScale, .invalidTile,
            .invalidQuality,
            .invalidBackground, .invalidOutputExtension, .unknownModel:
            return APIError(.badRequest, code, message)
        case .unsupportedMediaType: return APIError(.unsupportedMediaType, code, message)
        case .tooLarge, .tooManyPixels, .tooMuchWork: return APIError(.contentTooLarge, code, message)
        case .unprocessable, .inputCrashedWorker: return APIError(.unprocessableContent, code, message)
        case .modelUnavailable:
            return .retryLater(.serviceUnavailable, code, "the model is not available on the worker", seconds: 30)
        case .canceled: return APIError(.conflict, code, "the job was canceled")
        case .workerLost: return APIError(.internalServerError, code, message)
        // Codes a job never ends with; answered as the generic failure they would be.
        case .unauthorized, .notFound, .methodNotAllowed, .badSignature, .expired, .rateLimited, .tooManyJobs,
            .queueFull, .tooManyStreams, .tooManyDownloads, .tooManyUploads, .storageFull, .storeUnavailable, .internal:
            return APIError(.internalServerError, .internal, "internal error", internalDetail: message)
        }
    }
}
