/// The activation an ncnn Convolution applies to its output (`9=` and `-23310=`).
public enum Activation: Sendable, Equatable {
    case none
    case relu
    case leakyReLU(slope: Float)
}

/// A 2-D convolution. Weights are OIHW (output, input, kernel row, kernel column), as ncnn stores them.
public struct Convolution: Sendable {
    public var outChannels: Int
    public var inChannels: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var strideHeight: Int
    public var strideWidth: Int
    public var dilationHeight: Int
    public var dilationWidth: Int
    public var padTop: Int
    public var padLeft: Int
    public var padBottom: Int
    public var padRight: Int
    public var activation: Activation
    /// `outChannels * inChannels * kernelHeight * kernelWidth` values, OIHW.
    public var weights: [Float]
    /// `outChannels` values, or empty when the layer has no bias.
    public var bias: [Float]

    /// The same layer restricted to the output channels in `range` (OIHW weights are contiguous per output channel).
    package func restricted(to range: Range<Int>) -> Convolution {
        var copy = self
        let perOutput = inChannels * kernelHeight * kernelWidth
        copy.outChannels = range.count
        copy.weights = Array(weights[(range.lowerBound * perOutput)..<(range.upperBound * perOutput)])
        copy.bias = bias.isEmpty ? [] : Array(bias[range])
        return copy
    }

    /// Output spatial size for an input of `height` x `width`.
    package func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let kh = dilationHeight * (kernelHeight - 1) + 1
        let kw = dilationWidth * (kernelWidth - 1) + 1
        return (
            (height + padTop + padBottom - kh) / strideHeight + 1,
            (width + padLeft + padRight - kw) / strideWidth + 1
        )
    }
}

/// Element-wise combination of equally shaped inputs (ncnn `Eltwise`).
public struct Eltwise: Sendable {
    public enum Kind: Sendable { case product, sum, maximum }
    public var kind: Kind
    /// Per-input coefficients for `sum`; empty means all 1.
    public var coefficients: [Float]

    package func coefficient(_ input: Int) -> Float {
        coefficients.isEmpty ? 1 : coefficients[input]
    }
}

/// A binary arithmetic op on two equally shaped tensors, or a tensor and a scalar (ncnn `BinaryOp`).
public struct BinaryOperation: Sendable {
    public enum Kind: Sendable { case add, subtract, multiply }
    public var kind: Kind
    /// When set, the second operand is this constant instead of a second blob.
    public var scalar: Float?

    @inline(__always)
    package func apply(_ a: Float, _ b: Float) -> Float {
        switch kind {
        case .add: return a + b
        case .subtract: return a - b
        case .multiply: return a * b
        }
    }
}

/// Spatial resize by nearest neighbour or bicubic interpolation (ncnn `Interp`), per channel.
public struct Interpolation: Sendable {
    public enum Kind: Sendable { case nearest, bicubic }
    public var kind: Kind
    public var heightScale: Float
    public var widthScale: Float
    /// Fixed output size; zero means "use the scale".
    public var outputHeight: Int
    public var outputWidth: Int
    public var alignCorners: Bool

    func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (
            outputHeight > 0 ? outputHeight : Int(Float(height) * heightScale),
            outputWidth > 0 ? outputWidth : Int(Float(width) * widthScale)
        )
    }
}

/// PyTorch-order pixel shuffle: output channel `c`, offset `(i, j)` comes from input channel `c*r*r + i*r + j`.
/// `inverse` is its inverse, PyTorch's pixel unshuffle (ncnn's `Reorg`, mode 0): output channel `c*r*r + i*r + j` at
/// `(y, x)` comes from input channel `c` at `(y*r + i, x*r + j)`, so the input's sides must be multiples of `r`.
public struct PixelShuffle: Sendable {
    public var factor: Int
    public var inverse = false
}

/// Parametric ReLU with one slope per channel (or one shared slope).
public struct PReLU: Sendable {
    public var slopes: [Float]

    @inline(__always)
    package func slope(channel: Int) -> Float { slopes.count == 1 ? slopes[0] : slopes[channel] }
}

/// What one layer computes.
public enum Operation: Sendable {
    case input
    case split
    /// Channel concatenation, in input order.
    case concat
    case convolution(Convolution)
    case eltwise(Eltwise)
    case binary(BinaryOperation)
    case interpolation(Interpolation)
    case prelu(PReLU)
    case pixelShuffle(PixelShuffle)
}

/// One layer of the network: its op and the blobs it reads and writes.
public struct Layer: Sendable {
    public var type: String
    public var name: String
    public var inputs: [String]
    public var outputs: [String]
    public var operation: Operation
}
