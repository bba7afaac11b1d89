/// Every machine-readable error code the service answers with, in the JSON error body's `code` and in a failed job's
/// stored `error_code`: one closed vocabulary for the worker, both stores, the API and the command-line client.
///
/// The raw values are the wire and database spelling; they are part of the API and never change.
public enum ErrorCode: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    // Request problems (4xx).
    case invalidRequest = "invalid_request"
    case invalidJSON = "invalid_json"
    case missingImage = "missing_image"
    case invalidImage = "invalid_image"
    case invalidBase64 = "invalid_base64"
    case invalidScale = "invalid_scale"
    case invalidTile = "invalid_tile"
    case invalidQuality = "invalid_quality"
    case invalidBackground = "invalid_background"
    case invalidOutputExtension = "invalid_output_ext"
    case unknownModel = "unknown_model"
    case unsupportedMediaType = "unsupported_media_type"
    case tooLarge = "too_large"
    case tooManyPixels = "too_many_pixels"
    /// More model work than the server's budget for one job.
    case tooMuchWork = "too_much_work"
    case unprocessable
    case unauthorized
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case badSignature = "bad_signature"
    case expired
    case canceled
    /// The job's image stopped a worker twice (a crash, a kill): its jobs fail and new uploads of it are refused.
    case inputCrashedWorker = "input_crashed_worker"
    // Back-pressure (429 and 503, with Retry-After).
    case rateLimited = "rate_limited"
    case tooManyJobs = "too_many_jobs"
    case queueFull = "queue_full"
    /// Too many event streams open, for the token (429) or the server (503).
    case tooManyStreams = "too_many_streams"
    /// Too many downloads at once, from the address (429) or in all (503).
    case tooManyDownloads = "too_many_downloads"
    /// Too many large request bodies in flight, for the token (429) or the server (503).
    case tooManyUploads = "too_many_uploads"
    case modelUnavailable = "model_unavailable"
    /// The server's disk or database is full (507), or its job store cannot be reached for a call that creates a
    /// job (503).
    case storageFull = "storage_full"
    case storeUnavailable = "store_unavailable"
    // The service's own failures (5xx).
    case workerLost = "worker_lost"
    case `internal`

    /// The wire spelling, so logs and messages show what clients see.
    public var description: String { rawValue }

    /// A stored code; one written by a newer version that this one does not know reads as ``internal``.
    public init(stored text: String) {
        self = ErrorCode(rawValue: text) ?? .internal
    }
}
