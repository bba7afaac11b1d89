/// One token's usage.
public struct Usage: Sendable, Equatable {
    public var ownerName: String
    public var requests: Int
    public var jobsSucceeded: Int
    public var jobsFailed: Int
    public var inputMegapixels: Double
    public var outputMegapixels: Double
    public var computeSeconds: Double

    public init(
        ownerName: String, requests: Int = 0, jobsSucceeded: Int = 0, jobsFailed: Int = 0,
        inputMegapixels: Double = 0, outputMegapixels: Double = 0, computeSeconds: Double = 0
    ) {
        self.ownerName = ownerName
        self.requests = requests
        self.jobsSucceeded = jobsSucceeded
        self.jobsFailed = jobsFailed
        self.inputMegapixels = inputMegapixels
        self.outputMegapixels = outputMegapixels
        self.computeSeconds = computeSeconds
    }
}
