import Foundation
public import HTTPTypes
public import JobStore

/// An error answered as JSON `{"error": {"code", "message", "request_id"}, "detail": message}`.
///
/// `message` is what the client sees; `internalDetail` goes to the log only, under the request id. Handlers and
/// middleware throw these; ``ServiceMiddleware`` renders them, and renders anything else as a 500 with no text leaked.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// Stable and machine-readable: `invalid_scale`, `unauthorized`, `too_large`, ...
    public var code: ErrorCode
    public var message: String
    public var headers: HTTPFields
    public var internalDetail: String

    public init(
        _ status: HTTPResponse.Status, _ code: ErrorCode, _ message: String, headers: HTTPFields = [:],
        internalDetail: String = ""
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.internalDetail = internalDetail
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    static func badRequest(_ code: ErrorCode, _ message: String) -> APIError { APIError(.badRequest, code, message) }

    static var unauthorized: APIError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer"
        return APIError(
            .unauthorized, .unauthorized,
            "a valid bearer token is required (Authorization: Bearer <token>)", headers: headers)
    }

    static func notFound(_ message: String) -> APIError { APIError(.notFound, .notFound, message) }

    /// A write the full disk refused: nothing was stored, and the same call may work later.
    static func storageFull(_ detail: String) -> APIError {
        var error = retryLater(
            HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), .storageFull,
            "the server is out of storage space; nothing was stored, try again later", seconds: 60)
        error.internalDetail = detail
        return error
    }

    static func retryLater(_ status: HTTPResponse.Status, _ code: ErrorCode, _ message: String, seconds: Int)
        -> APIError
    {
        var headers = HTTPFields()
        headers[.retryAfter] = String(seconds)
        return APIError(status, code, message, headers: headers)
    }

    static func internalFailure(_ detail: String) -> APIError {
        APIError(.internalServerError, .internal, "internal error", internalDetail: detail)
    }

    /// The JSON body.
    func body(requestID: String) -> [UInt8] {
        struct Body: Encodable {
            struct Inner: Encodable {
                let code: ErrorCode
                let message: String
                let request_id: String
            }
            let error: Inner
            let detail: String
        }
        let body = Body(error: .init(code: code, message: message, request_id: requestID), detail: message)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(
            (try? encoder.encode(body)) ?? Data(#"{"error":{"code":"internal","message":"internal error"}}"#.utf8))
    }
}
