import HTTPTypes
import OpenAPIRuntime

/// Checks the bearer token of every operation the document marks with `security`, before its body is read, and makes
/// the caller available to the handler. An authenticated request then takes its unit from the token's rate limit.
struct AuthMiddleware: ServerMiddleware {
    let tokens: TokenRegistry
    let protectedOperations: Set<String>
    let rateLimiter: RateLimiter

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    )
        async throws -> (HTTPResponse, HTTPBody?)
    {
        guard protectedOperations.contains(operationID) else { return try await next(request, body, metadata) }
        guard let caller = tokens.authenticate(authorization: request.headerFields[.authorization]) else {
            throw APIError.unauthorized
        }
        try await rateLimiter.admit(caller)
        return try await RequestInfo.$caller.withValue(caller) { try await next(request, body, metadata) }
    }
}
