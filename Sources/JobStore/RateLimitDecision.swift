import Foundation

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
