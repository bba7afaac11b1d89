public import Inference

extension SeededRandom {
    /// A tensor of uniform values in [lo, hi).
    public mutating func tensor(_ c: Int, _ h: Int, _ w: Int, _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
        Tensor(channels: c, height: h, width: w, data: (0..<(c * h * w)).map { _ in float(lo, hi) })
    }
}

/// Largest absolute difference between two tensors of one shape.
public func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "shapes differ: \(a.shape) vs \(b.shape)")
    return zip(a.data, b.data).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
