import Foundation

/// A token bucket: `burst` requests at once, refilled at `perSecond`. The same policy gives the same answers on every
/// api process, because the bucket's level lives in the shared store, not in a process.
public struct RateLimitPolicy: Sendable, Equatable {
    /// The bucket's capacity: how many requests may arrive together after a quiet spell.
    public var burst: Int
    /// Requests the bucket regains per second.
    public var perSecond: Double

    public init(burst: Int, perSecond: Double) {
        self.burst = burst
        self.perSecond = perSecond
    }

    /// Seconds an empty bucket takes to fill: the window of the `RateLimit-Policy` field.
    public var window: Int { max(1, Int((Double(burst) / perSecond).rounded(.up))) }
}

/// What one take from a bucket found.
public struct RateLimitDecision: Sendable, Equatable {
    public var allowed: Bool
    /// Requests left in the bucket after this one (fractions are refill in progress).
    public var level: Double
    public var policy: RateLimitPolicy

    public init(allowed: Bool, level: Double, policy: RateLimitPolicy) {
        self.allowed = allowed
        self.level = level
        self.policy = policy
    }

    /// Whole requests that may follow at once.
    public var remaining: Int { max(0, Int(level.rounded(.down))) }
    /// Seconds until the next request would be allowed (0 if one is allowed now).
    public var secondsUntilNext: Int { level >= 1 ? 0 : Int(((1 - level) / policy.perSecond).rounded(.up)) }
    /// Seconds until the bucket is full again.
    public var secondsUntilFull: Int {
        max(0, Int(((Double(policy.burst) - level) / policy.perSecond).rounded(.up)))
    }
}

/// The one statement both stores run to take a request from a bucket, so the arithmetic exists once. It inserts a
/// full bucket less one, or refills the stored bucket for the time since its last take (a clock that went back refills
/// nothing), takes one if it holds at least one, and returns the new level and whether the take happened. A single
/// upsert is atomic in both engines: concurrent takers queue on the row.
enum TokenBucketStatement {
    /// `placeholder` names how the engine spells the parameters `bucket`, `now`, `burst` and `rate`.
    static func sql(_ placeholder: (String) -> String) -> String {
        let now = placeholder("now"), burst = placeholder("burst"), rate = placeholder("rate")
        let elapsed = "(CASE WHEN \(now) > rate_buckets.updated_at THEN \(now) - rate_buckets.updated_at ELSE 0 END)"
        let refilled = "rate_buckets.tokens + \(elapsed) * \(rate)"
        let level = "(CASE WHEN \(refilled) > \(burst) THEN \(burst) ELSE \(refilled) END)"
        return """
            INSERT INTO rate_buckets (bucket, tokens, updated_at, allowed)
            VALUES (\(placeholder("bucket")), \(burst) - 1, \(now), 1)
            ON CONFLICT (bucket) DO UPDATE SET
                tokens = CASE WHEN \(level) >= 1 THEN \(level) - 1 ELSE \(level) END,
                allowed = CASE WHEN \(level) >= 1 THEN 1 ELSE 0 END,
                updated_at = CASE WHEN \(now) > rate_buckets.updated_at THEN \(now) ELSE rate_buckets.updated_at END
            RETURNING tokens, allowed
            """
    }

    static let createTable = """
        CREATE TABLE rate_buckets (bucket TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL,
                                   updated_at DOUBLE PRECISION NOT NULL, allowed INTEGER NOT NULL)
        """
}
