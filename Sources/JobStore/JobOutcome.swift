/// How a worker's job ended.
public enum JobOutcome: Sendable, Equatable {
    case succeeded(JobResult)
    case failed(code: ErrorCode, message: String)
}
