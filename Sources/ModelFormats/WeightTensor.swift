/// One named array of weights from a model file, widened to fp32. `shape` is PyTorch's (OIHW for a convolution).
public struct WeightTensor: Sendable, Equatable {
    public let shape: [Int]
    public let values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "a tensor's values must fill its shape")
        self.shape = shape
        self.values = values
    }
}
