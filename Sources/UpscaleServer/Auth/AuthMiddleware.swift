import HTTPTypes
import JobStore
import OpenAPIRuntime

/// Checks the bearer token of every operation the document marks with `security`, before its body is read, and makes
/// the caller available to the handler. An authenticated request then takes its unit from the token's rate limit;
/// an address that presented too many wrong tokens is refused before its token is looked at.
struct AuthMiddleware: ServerMiddleware {
    let tokens: TokenRegistry
    let protectedOperations: Set<String>
    let rateLimiter: RateLimiter
    let failures: AuthFailureThrottle

    /// The operations that store an upload and queue a job.
    static let jobCreating: Set<String> = ["upscale", "createJob"]

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    )
        async throws -> (HTTPResponse, HTTPBody?)
    {
        guard protectedOperations.contains(operationID) else { return try await next(request, body, metadata) }
        let authorization = request.headerFields[.authorization]
        let address = RequestInfo.current?.clientAddress ?? "unknown"
        if authorization != nil, let wait = failures.wait(for: address) {
            throw APIError.retryLater(
                .tooManyRequests, .rateLimited,
                "too many wrong tokens from this address; try again in \(wait) s", seconds: wait)
        }
        guard let caller = tokens.authenticate(authorization: authorization) else {
            if authorization != nil { failures.recordFailure(from: address) }
            throw APIError.unauthorized
        }
        try await rateLimiter.admit(caller, failClosed: Self.jobCreating.contains(operationID))
        return try await RequestInfo.$caller.withValue(caller) { try await next(request, body, metadata) }
    }
}
