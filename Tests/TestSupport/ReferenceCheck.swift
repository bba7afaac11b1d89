public import Inference

/// A backend's output on one input against the plain Swift reference kernels.
public struct ReferenceCheck: Sendable {
    /// The backend's output has the reference's shape.
    public let shapesMatch: Bool
    /// Largest absolute difference from the reference (infinite when the shapes differ).
    public let difference: Float
    /// A second run of the same runner gave exactly the first run's output (buffers reused, not stale).
    public let repeatable: Bool
}

/// Runs `runner` twice on `input` and the reference kernels once.
public func checkAgainstReference(_ runner: any NetworkRunner, input: Tensor) throws -> ReferenceCheck {
    let fast = try runner.run(input)
    let reference = try ReferenceKernels.run(runner.network, input: input)
    let shapesMatch = fast.shape == reference.shape
    return ReferenceCheck(
        shapesMatch: shapesMatch,
        difference: shapesMatch ? maxAbsDifference(fast, reference) : .infinity,
        repeatable: try runner.run(input) == fast)
}
