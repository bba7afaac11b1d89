/// Files a sweep released: the caller deletes them.
public struct SweptJobs: Sendable, Equatable {
    public var jobIDs: [String]
    public var files: [String]
}
