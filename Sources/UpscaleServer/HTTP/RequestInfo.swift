import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers

/// What the HTTP layer knows about the request being handled, for the generated handlers (which see only the
/// OpenAPI request): its id, the caller once authenticated, the client's address and the base URL for links.
struct RequestInfo: Sendable {
    let id: String
    /// `--public-url`, or `scheme://host[:port]` from a Host field that is a well-formed host.
    let baseURL: String
    /// The peer's IP address, or the one a trusted proxy forwarded; `unknown` when there is no socket (tests).
    let clientAddress: String
    var logger: Logger
    /// Fields every answer to this request carries, success or error (the rate limit's state).
    let extraHeaders = NIOLockedValueBox(HTTPFields())

    @TaskLocal static var current: RequestInfo?
    @TaskLocal static var caller: Caller?
    /// A large JSON body's image text, lifted out before the generated decoding (``ImageFieldMiddleware``).
    @TaskLocal static var uploadedImage: UploadedImage?

    /// 16 random hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(format: "%016llx", UInt64.random(in: 0...UInt64.max, using: &generator))
    }
}
