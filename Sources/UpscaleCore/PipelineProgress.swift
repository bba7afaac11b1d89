public import Inference

/// Where a run is, for progress bars and (later) job status.
public struct PipelineProgress: Sendable {
    /// The named step running now.
    public let step: String
    /// Overall fraction done, 0...1 (tiles dominate, so it follows them).
    public let fraction: Double
    /// Tile counters while the `infer` step runs.
    public let tile: TileProgress?
}
