/// Where a job is in its life. `succeeded`, `failed` and `canceled` are final.
public enum JobStatus: String, Codable, Sendable, CaseIterable {
    case queued
    case running
    case succeeded
    case failed
    case canceled

    public var isFinal: Bool { self == .succeeded || self == .failed || self == .canceled }
}
