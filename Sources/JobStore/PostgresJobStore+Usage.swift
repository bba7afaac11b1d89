public import Foundation
import Logging
internal import NIOSSL
internal import PostgresNIO
import Synchronization

extension PostgresJobStore {
    public func takeRateToken(bucket: String, policy: RateLimitPolicy, now: Date) async throws -> RateLimitDecision {
        try await shielded { [self] in
            let rows = try await client.query(
                JobStateMachine.takeRateToken(bucket: bucket, policy: policy, now: now).query, logger: logger)
            var decision: RateLimitDecision?
            for try await (tokens, allowed) in rows.decode((Double, Int32).self) {
                decision = RateLimitDecision(allowed: allowed == 1, level: tokens, policy: policy)
            }
            guard let decision else { throw StoreError("the rate limit bucket \(bucket) returned nothing") }
            return decision
        }
    }

    public func recordRequest(owner: String, name: String) async throws {
        try await shielded { [self] in
            try await client.query(JobStateMachine.recordRequest(owner: owner, name: name).query, logger: logger)
        }
    }

    public func usage(owner: String) async throws -> Usage? {
        try await shielded { [self] in
            let rows = try await client.query(
                """
                SELECT owner_name, requests, jobs_succeeded, jobs_failed, input_megapixels, output_megapixels,
                       compute_seconds FROM usage WHERE owner = \(owner)
                """, logger: logger)
            var usage: Usage?
            for try await (name, requests, succeeded, failed, input, output, seconds)
                in rows.decode((String, Int, Int, Int, Double, Double, Double).self)
            {
                usage = Usage(
                    ownerName: name, requests: requests, jobsSucceeded: succeeded, jobsFailed: failed,
                    inputMegapixels: input, outputMegapixels: output, computeSeconds: seconds)
            }
            return usage
        }
    }
}
