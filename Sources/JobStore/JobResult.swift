/// What a finished job made.
public struct JobResult: Sendable, Equatable {
    /// The encoded image, written whole (temporary file, then rename) before the job is marked succeeded.
    public var path: String
    public var width: Int
    public var height: Int
    /// `png`, `jpg` or `webp`.
    public var format: String
    /// Seconds the pipeline ran.
    public var processingSeconds: Double
    /// Where the model ran, `cpu` or `gpu:N` (`nil` for jobs finished before this was recorded).
    public var device: String?

    public init(
        path: String, width: Int, height: Int, format: String, processingSeconds: Double,
        device: String? = nil
    ) {
        self.path = path
        self.width = width
        self.height = height
        self.format = format
        self.processingSeconds = processingSeconds
        self.device = device
    }
}
