/// What the store says to a worker's heartbeat.
public enum LeaseState: Sendable, Equatable {
    /// Go on; the lease is extended.
    case held
    /// The owner canceled the job: stop, and do not report a result.
    case canceled
    /// Another worker has the job now, or it is gone: stop.
    case lost
}
