/// What queuing a job under ``QueueLimits`` did.
public enum EnqueueResult: Sendable, Equatable {
    case queued(JobRecord)
    /// Nothing was queued: this many jobs wait already.
    case queueFull(queued: Int)
    /// Nothing was queued: the owner has this many jobs queued or running.
    case ownerAtLimit(active: Int)
}
