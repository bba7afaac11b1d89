import Foundation

/// The per-token request buckets, written once for both stores like the job transitions.
extension JobStateMachine {
    /// Takes a request from a bucket, so the arithmetic exists once. It inserts a full bucket less one, or refills
    /// the stored bucket for the time since its last take (a clock that went back refills nothing), takes one if it
    /// holds at least one, and returns the new level (`tokens`) and whether the take happened (`allowed`). A single
    /// upsert is atomic in both engines: concurrent takers queue on the row.
    static func takeRateToken(bucket: String, policy: RateLimitPolicy, now: Date) -> JobStatement {
        let elapsed = "(CASE WHEN :now > rate_buckets.updated_at THEN :now - rate_buckets.updated_at ELSE 0 END)"
        let refilled = "rate_buckets.tokens + \(elapsed) * :rate"
        let level = "(CASE WHEN \(refilled) > :burst THEN :burst ELSE \(refilled) END)"
        return JobStatement(
            """
            INSERT INTO rate_buckets (bucket, tokens, updated_at, allowed)
            VALUES (:bucket, :burst - 1, :now, 1)
            ON CONFLICT (bucket) DO UPDATE SET
                tokens = CASE WHEN \(level) >= 1 THEN \(level) - 1 ELSE \(level) END,
                allowed = CASE WHEN \(level) >= 1 THEN 1 ELSE 0 END,
                updated_at = CASE WHEN :now > rate_buckets.updated_at THEN :now ELSE rate_buckets.updated_at END
            RETURNING tokens, allowed
            """,
            [
                "bucket": .text(bucket), "now": .real(now.timeIntervalSince1970), "burst": .real(Double(policy.burst)),
                "rate": .real(policy.perSecond),
            ])
    }

    static let createRateBuckets = """
        CREATE TABLE rate_buckets (bucket TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL,
                                   updated_at DOUBLE PRECISION NOT NULL, allowed INTEGER NOT NULL)
        """
}
