import Foundation
import HTTPTypes
import Hummingbird
import JobStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import OpenAPIRuntime

/// The outermost middleware: gives each request an id, enforces the body limit before anything reads the body, makes
/// every failure a JSON error (404 and 405 included), and records metrics and one log line per request.
struct ServiceMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let routes: RouteTable
    let maxBodyBytes: Int
    let publicURL: String?
    /// Peers whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed (`--trusted-proxies`).
    let trustedProxies: Set<String>
    let logger: Logger

    static var requestIDField: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        let requestID = request.headers[Self.requestIDField].flatMap(Self.acceptableRequestID) ?? RequestInfo.newID()
        var logger = self.logger
        logger[metadataKey: "request_id"] = "\(requestID)"
        let peer = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress
        let viaProxy = peer.map(trustedProxies.contains) ?? false
        let info = RequestInfo(
            id: requestID, baseURL: baseURL(for: request, viaProxy: viaProxy),
            clientAddress: (viaProxy ? Self.forwardedClient(request.headers) : nil) ?? peer ?? "unknown",
            logger: logger)
        var request = request
        var response: Response
        do {
            if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBodyBytes {
                throw tooLarge()
            }
            var head = request.head
            Self.assumeJSONForSeedClients(&head)
            request = Request(
                head: head,
                body: RequestBody(
                    asyncSequence: LimitedBody(
                        base: request.body, limit: maxBodyBytes, error: tooLarge())))
            response = try await RequestInfo.$current.withValue(info) { try await next(request, context) }
        } catch {
            let apiError = translate(error, request: request)
            if apiError.status.code >= 500 {
                // Only the cause: the OpenAPI wrapper's own description holds every request header (the bearer token)
                // and the decoded body (a whole base64 image).
                let cause = (error as? ServerError)?.underlyingError ?? error
                logger.error(
                    "request failed",
                    metadata: [
                        "error": "\(String(reflecting: cause))",
                        "detail": "\(apiError.internalDetail)",
                    ])
            } else if !apiError.internalDetail.isEmpty {
                logger.info(
                    "request refused",
                    metadata: [
                        "code": "\(apiError.code)",
                        "detail": "\(apiError.internalDetail)",
                    ])
            }
            var headers = apiError.headers
            headers[.contentType] = "application/json"
            let body = apiError.body(requestID: requestID)
            response = Response(
                status: apiError.status, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        response.headers[Self.requestIDField] = requestID
        // No answer of this service is meant to be sniffed into another type (a result served as a page).
        response.headers[.xContentTypeOptions] = "nosniff"
        for field in info.extraHeaders.withLockedValue({ $0 }) { response.headers[field.name] = field.value }
        // The OpenAPI runtime percent-encodes header values it writes; a filename header must reach browsers as is.
        if let disposition = response.headers[.contentDisposition], disposition.contains("%") {
            response.headers[.contentDisposition] = disposition.removingPercentEncoding ?? disposition
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        let route = routes.template(for: request.uri.path) ?? "unmatched"
        metrics.request(
            route: route, method: request.method.rawValue, status: Int(response.status.code),
            seconds: seconds)
        logger.info(
            "request",
            metadata: [
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path)",
                "status": "\(response.status.code)",
                "ms": "\(Int(seconds * 1000))",
            ])
        return response
    }

    private func tooLarge() -> APIError {
        APIError(.contentTooLarge, .tooLarge, "the request body is larger than \(maxBodyBytes) bytes")
    }

    /// The old service's README sends JSON with `curl -d`, which labels it form-encoded; FastAPI read it as JSON
    /// anyway. A JSON call is the only thing these routes take in that form, so such a body is read as JSON.
    static func assumeJSONForSeedClients(_ head: inout HTTPRequest) {
        let path = head.path?.split(separator: "?").first ?? ""
        guard head.method == .post, path == "/upscale" || path == "/jobs" else { return }
        let type = head.headerFields[.contentType]?.lowercased() ?? ""
        if type.isEmpty || type.hasPrefix("application/x-www-form-urlencoded") {
            head.headerFields[.contentType] = "application/json"
        }
    }

    /// A client's own request id is kept if it is short and plain, so it can be matched in logs.
    static func acceptableRequestID(_ value: String) -> String? {
        guard (1...64).contains(value.count),
            value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        return value
    }

    /// `--public-url` when set. Otherwise the Host field when it is a well-formed host (anything else would be
    /// echoed into links and examples), and https only when a trusted proxy says the client used it.
    private func baseURL(for request: Request, viaProxy: Bool) -> String {
        if let publicURL { return publicURL }
        let host = request.head.authority.flatMap(Self.wellFormedHost) ?? "localhost"
        let scheme =
            viaProxy && request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
            ? "https" : "http"
        return "\(scheme)://\(host)"
    }

    /// `name[:port]` or `[v6]:port` of letters, digits, dots, hyphens and underscores, up to 255 characters.
    static func wellFormedHost(_ authority: String) -> String? {
        guard (1...255).contains(authority.utf8.count) else { return nil }
        var host = Substring(authority), port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let inner = host[host.index(after: host.startIndex)..<close]
            guard !inner.isEmpty, inner.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
            let rest = host[host.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                port = rest.dropFirst()
            }
            host = host[...close]
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            host = parts[0]
            port = parts.count == 2 ? parts[1] : nil
            guard !host.isEmpty,
                host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) })
            else { return nil }
        }
        if let port {
            guard (1...5).contains(port.count), port.allSatisfy(\.isASCII), let number = Int(port), number <= 65535
            else { return nil }
        }
        return authority
    }

    /// The client a trusted proxy names: the last `X-Forwarded-For` entry (the one that proxy added), if it is an
    /// address.
    static func forwardedClient(_ headers: HTTPFields) -> String? {
        guard let field = headers[HTTPField.Name("X-Forwarded-For")!],
            let last = field.split(separator: ",").last?.trimmingCharacters(in: .whitespaces),
            !last.isEmpty, last.count <= 45,
            last.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" })
        else { return nil }
        return last
    }

    /// Any error to the JSON error a client sees.
    private func translate(_ error: any Error, request: Request) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as StoreError where error.isStorageFull:
            return .storageFull(error.description)
        case let error as ServerError:
            if let inner = error.underlyingError as? APIError { return inner }
            if let store = error.underlyingError as? StoreError, store.isStorageFull {
                return .storageFull(store.description)
            }
            let detail = String(describing: error.underlyingError)
            // Once the input was parsed, the handler ran: what it threw is ours, not the client's.
            if error.operationInput != nil { return .internalFailure(detail) }
            if detail.contains("content type") || detail.contains("Content-Type") {
                return APIError(
                    .unsupportedMediaType, .unsupportedMediaType,
                    "this content type is not accepted here; see /docs", internalDetail: detail)
            }
            // OpenAPIRuntime's URI decoder (query and path parameters) says "Failed to convert"; JSONDecoder never
            // does. A parameter that does not decode is no JSON problem.
            if let decoding = error.underlyingError as? DecodingError, Self.isParameterError(decoding) {
                return APIError(
                    .badRequest, .invalidRequest,
                    "a query or path parameter is not valid (see /docs for each one's type)",
                    internalDetail: detail)
            }
            if error.underlyingError is DecodingError || detail.contains("JSON") || detail.contains("decod") {
                return APIError(
                    .badRequest, .invalidJSON,
                    "the request body is not the expected JSON: "
                        + Self.decodingSummary(error.underlyingError), internalDetail: detail)
            }
            return APIError(
                .badRequest, .invalidRequest, "the request is malformed; see /docs",
                internalDetail: detail)
        case let error as HTTPError where error.status == .notFound:
            let allowed = routes.methods(for: request.uri.path)
            if !allowed.isEmpty {
                var headers = HTTPFields()
                headers[.allow] = allowed.joined(separator: ", ")
                return APIError(
                    .methodNotAllowed, .methodNotAllowed,
                    "\(request.method.rawValue) is not allowed on \(request.uri.path); use "
                        + allowed.filter { $0 != "HEAD" }.joined(separator: " or "), headers: headers)
            }
            return APIError(.notFound, .notFound, "no such path: \(request.uri.path); see /docs")
        case let error as HTTPError:
            // Hummingbird's own refusals: the code of the vocabulary their status means.
            let code: ErrorCode =
                switch error.status.code {
                case 413: .tooLarge
                case 415: .unsupportedMediaType
                case 400..<500: .invalidRequest
                default: .internal
                }
            return APIError(error.status, code, error.body ?? error.status.reasonPhrase)
        default:
            return .internalFailure(String(reflecting: error))
        }
    }

    static func isParameterError(_ error: DecodingError) -> Bool {
        let context: DecodingError.Context? =
            switch error {
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): context
            case .keyNotFound(_, let context): context
            @unknown default: nil
            }
        return context?.debugDescription.hasPrefix("Failed to convert") == true
    }

    /// A short, safe description of a JSON decoding failure: which field, and what was wrong.
    static func decodingSummary(_ error: (any Error)?) -> String {
        guard let error = error as? DecodingError else { return "malformed JSON" }
        func path(_ context: DecodingError.Context) -> String {
            let names = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return names.isEmpty ? "the body" : "'\(names.joined(separator: "."))'"
        }
        switch error {
        case .keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context): return "wrong type for \(path(context))"
        case .valueNotFound(_, let context): return "missing value for \(path(context))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "malformed JSON" : "invalid value for \(path(context))"
        @unknown default: return "malformed JSON"
        }
    }
}
