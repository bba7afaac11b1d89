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
