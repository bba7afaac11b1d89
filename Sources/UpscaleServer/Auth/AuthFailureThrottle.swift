import Foundation
import NIOConcurrencyHelpers

/// Slows token guessing: each client address may present a wrong token `burst` times, then one more every
/// `refillSeconds`. While an address is over its budget every request it makes with a token is refused with 429
/// before the token is looked at, so a right guess cannot be told from a wrong one. Requests without a token do not
/// count. Kept in this process only: each api process throttles the addresses it sees.
final class AuthFailureThrottle: Sendable {
    let burst: Double
    let refillSeconds: Double
    private let clock: WallClock
    private let buckets = NIOLockedValueBox([String: (level: Double, updated: Date)]())
    /// Beyond this many addresses the fullest buckets (those that would be full again anyway) are forgotten first.
    private let maxAddresses = 10_000

    init(burst: Int = 10, refillSeconds: Double = 6, clock: WallClock) {
        self.burst = Double(burst)
        self.refillSeconds = refillSeconds
        self.clock = clock
    }

    /// Seconds until `address` may try a token again, or nil if it may now.
    func wait(for address: String) -> Int? {
        let now = clock.now
        return buckets.withLockedValue { buckets in
            let level = self.level(buckets[address], now: now)
            guard level < 1 else { return nil }
            return max(1, Int(((1 - level) * refillSeconds).rounded(.up)))
        }
    }

    /// Counts a wrong token from `address`.
    func recordFailure(from address: String) {
        let now = clock.now
        buckets.withLockedValue { buckets in
            let level = self.level(buckets[address], now: now)
            buckets[address] = (max(0, level - 1), now)
            if buckets.count > maxAddresses {
                for (key, _) in buckets.sorted(by: { self.level($0.value, now: now) > self.level($1.value, now: now) })
                    .prefix(buckets.count - maxAddresses)
                {
                    buckets[key] = nil
                }
            }
        }
    }

    private func level(_ bucket: (level: Double, updated: Date)?, now: Date) -> Double {
        guard let bucket else { return burst }
        return min(burst, bucket.level + max(0, now.timeIntervalSince(bucket.updated)) / refillSeconds)
    }
}
