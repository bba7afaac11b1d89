import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers

/// What the HTTP layer knows about the request being handled, for the generated handlers (which see only the
/// OpenAPI request): its id, the caller once authenticated, and the base URL for links.
struct RequestInfo: Sendable {
    let id: String
    /// `scheme://host[:port]` as the client addressed us.
    let baseURL: String
    var logger: Logger
    /// Fields every answer to this request carries, success or error (the rate limit's state).
    let extraHeaders = NIOLockedValueBox(HTTPFields())

    @TaskLocal static var current: RequestInfo?
    @TaskLocal static var caller: Caller?

    /// 16 random hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(format: "%016llx", UInt64.random(in: 0...UInt64.max, using: &generator))
    }
}
