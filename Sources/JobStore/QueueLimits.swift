/// Limits checked when a job is queued, in the same step as the insert, so that concurrent requests (on any api
/// process) cannot pass the per-owner cap together. nil means no limit.
public struct QueueLimits: Sendable, Equatable {
    /// Queued jobs in all. Processes racing may pass it by one job each: it guards memory, not fairness.
    public var maxQueued: Int?
    /// The owner's queued and running jobs together; exact.
    public var maxActivePerOwner: Int?

    public init(maxQueued: Int? = nil, maxActivePerOwner: Int? = nil) {
        self.maxQueued = maxQueued
        self.maxActivePerOwner = maxActivePerOwner
    }
}
