import Foundation
import HTTPTypes
import JobStore
import Logging
import NIOConcurrencyHelpers

/// Per-token request limits. Every authenticated request takes one unit from its token's bucket in the job store, so
/// every api process sharing the store enforces the same budget. Answers carry the `RateLimit-Policy` and `RateLimit`
/// fields of the IETF draft (draft-ietf-httpapi-ratelimit-headers); a request over the limit gets 429 with
/// `Retry-After`.
struct RateLimiter: Sendable {
    let store: any JobStore
    /// Tokens without a limit of their own get this one; nil means no limit.
    let defaultPolicy: RateLimitPolicy?
    let logger: Logger
    let clock: WallClock

    /// The policy's name in the fields.
    static let policyName = "requests"

    /// Takes `caller`'s unit for this request, records the fields for the answer, and throws 429 when the bucket is
    /// empty. When the store cannot take the unit (unreachable, or its disk full), a call that would create a job
    /// (`failClosed`) is refused with 503 or 507 and `Retry-After`, since it would store an upload past the limit;
    /// other calls go through (logged) and meet the store on their own terms.
    func admit(_ caller: Caller, failClosed: Bool) async throws {
        let policy: RateLimitPolicy?
        switch caller.rateLimit {
        case .serverDefault: policy = defaultPolicy
        case .unlimited: policy = nil
        case .policy(let own): policy = own
        }
        guard let policy else { return }
        let decision: RateLimitDecision
        do {
            decision = try await store.takeRateToken(bucket: "requests:\(caller.owner)", policy: policy, now: clock.now)
        } catch {
            if failClosed {
                logger.warning("rate limit unavailable; job refused", metadata: ["error": "\(error)"])
                if let error = error as? StoreError, error.isStorageFull {
                    throw APIError.storageFull(error.description)
                }
                throw APIError.retryLater(
                    .serviceUnavailable, .storeUnavailable, "the job store cannot be reached; try again shortly",
                    seconds: 10)
            }
            logger.warning("rate limit unavailable; request let through", metadata: ["error": "\(error)"])
            return
        }
        let fields = Self.fields(decision)
        RequestInfo.current?.extraHeaders.withLockedValue { $0.append(contentsOf: fields) }
        guard decision.allowed else {
            var headers = HTTPFields()
            headers[.retryAfter] = String(max(1, decision.secondsUntilNext))
            throw APIError(
                .tooManyRequests, .rateLimited,
                "this token made more than \(policy.burst) requests in a burst or more than "
                    + "\(Self.format(policy.perSecond)) a second; try again in "
                    + "\(max(1, decision.secondsUntilNext)) s", headers: headers)
        }
    }

    /// `RateLimit-Policy: "requests";q=60;w=12` (the bucket holds 60 and fills in 12 s) and
    /// `RateLimit: "requests";r=41;t=4` (41 left, full again in 4 s).
    static func fields(_ decision: RateLimitDecision) -> HTTPFields {
        var fields = HTTPFields()
        fields[policyField] = "\"\(policyName)\";q=\(decision.policy.burst);w=\(decision.policy.window)"
        fields[stateField] = "\"\(policyName)\";r=\(decision.remaining);t=\(decision.secondsUntilFull)"
        return fields
    }

    static let policyField = HTTPField.Name("RateLimit-Policy")!
    static let stateField = HTTPField.Name("RateLimit")!

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }
}

extension RateLimitPolicy {
    /// Reads `off`, or `RATE/UNIT[,burst=N]` with UNIT one of `s`, `min`, `h`: `120/min` allows 120 at once and
    /// regains them over a minute; `120/min,burst=20` allows 20 at once at the same sustained rate.
    static func parse(_ text: String) throws -> RateLimitPolicy? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed == "off" || trimmed == "0" { return nil }
        let invalid = ConfigurationError(
            "rate limit \"\(text)\": expected off or RATE/UNIT[,burst=N], e.g. 120/min,burst=20")
        let pieces = trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let rate = pieces.first?.split(separator: "/") ?? []
        guard rate.count == 2, let count = Int(rate[0]), count > 0 else { throw invalid }
        let seconds: Double
        switch rate[1] {
        case "s", "sec", "second": seconds = 1
        case "m", "min", "minute": seconds = 60
        case "h", "hour": seconds = 3600
        default: throw invalid
        }
        var policy = RateLimitPolicy(burst: count, perSecond: Double(count) / seconds)
        for option in pieces.dropFirst() {
            let pair = option.split(separator: "=")
            guard pair.count == 2, pair[0] == "burst", let burst = Int(pair[1]), burst > 0 else { throw invalid }
            policy.burst = burst
        }
        return policy
    }
}
