import Foundation

/// Plain Swift implementations of every op, written for clarity rather than speed.
///
/// They are the yardstick the oneDNN engine is tested against, so each follows the op's definition
/// directly, in planar CHW layout, with no fusion and no blocking.
public enum ReferenceKernels {
    /// Direct convolution, zero padding, followed by the layer's activation.
    public static func convolution(_ x: Tensor, _ conv: Convolution) -> Tensor {
        let size = conv.outputSize(height: x.height, width: x.width)
        var y = Tensor(channels: conv.outChannels, height: size.height, width: size.width)
        let kh = conv.kernelHeight, kw = conv.kernelWidth, ic = conv.inChannels
        x.data.withUnsafeBufferPointer { src in
            conv.weights.withUnsafeBufferPointer { w in
                y.data.withUnsafeMutableBufferPointer { dst in
                    for o in 0..<conv.outChannels {
                        let b = conv.bias.isEmpty ? 0 : conv.bias[o]
                        for oy in 0..<size.height {
                            for ox in 0..<size.width {
                                var acc: Float = 0
                                for i in 0..<ic {
                                    for ky in 0..<kh {
                                        let iy = oy * conv.strideHeight - conv.padTop + ky * conv.dilationHeight
                                        if iy < 0 || iy >= x.height { continue }
                                        for kx in 0..<kw {
                                            let ix = ox * conv.strideWidth - conv.padLeft + kx * conv.dilationWidth
                                            if ix < 0 || ix >= x.width { continue }
                                            acc +=
                                                src[(i * x.height + iy) * x.width + ix]
                                                * w[((o * ic + i) * kh + ky) * kw + kx]
                                        }
                                    }
                                }
                                dst[(o * size.height + oy) * size.width + ox] = activate(acc + b, conv.activation)
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    @inline(__always)
    static func activate(_ v: Float, _ activation: Activation) -> Float {
        switch activation {
        case .none: return v
        case .relu: return max(v, 0)
        case .leakyReLU(let slope): return v >= 0 ? v : v * slope
        }
    }

    /// Channel concatenation.
    public static func concat(_ inputs: [Tensor]) -> Tensor {
        Tensor(
            channels: inputs.reduce(0) { $0 + $1.channels }, height: inputs[0].height, width: inputs[0].width,
            data: inputs.flatMap(\.data))
    }

    public static func eltwise(_ inputs: [Tensor], _ op: Eltwise) -> Tensor {
        var y = inputs[0]
        for i in 0..<y.data.count {
            var acc = op.kind == .sum ? inputs[0].data[i] * op.coefficient(0) : inputs[0].data[i]
            for k in 1..<inputs.count {
                let v = inputs[k].data[i]
                switch op.kind {
                case .sum: acc += v * op.coefficient(k)
                case .product: acc *= v
                case .maximum: acc = max(acc, v)
                }
            }
            y.data[i] = acc
        }
        return y
    }

    public static func binary(_ a: Tensor, _ b: Tensor?, _ op: BinaryOperation) -> Tensor {
        var y = a
        for i in 0..<y.data.count {
            y.data[i] = op.apply(a.data[i], op.scalar ?? b!.data[i])
        }
        return y
    }

    public static func prelu(_ x: Tensor, _ op: PReLU) -> Tensor {
        var y = x
        let plane = x.height * x.width
        for i in 0..<y.data.count where y.data[i] < 0 {
            y.data[i] *= op.slope(channel: i / plane)
        }
        return y
    }

    public static func pixelShuffle(_ x: Tensor, _ op: PixelShuffle) -> Tensor {
        let r = op.factor
        if op.inverse {
            var y = Tensor(channels: x.channels * r * r, height: x.height / r, width: x.width / r)
            for c in 0..<x.channels {
                for iy in 0..<x.height {
                    for ix in 0..<x.width {
                        y[c * r * r + (iy % r) * r + ix % r, iy / r, ix / r] = x[c, iy, ix]
                    }
                }
            }
            return y
        }
        var y = Tensor(channels: x.channels / (r * r), height: x.height * r, width: x.width * r)
        for c in 0..<y.channels {
            for oy in 0..<y.height {
                for ox in 0..<y.width {
                    y[c, oy, ox] = x[c * r * r + (oy % r) * r + ox % r, oy / r, ox / r]
                }
            }
        }
        return y
    }

    /// Nearest: source index `floor(dst / scale)`, as ncnn computes it. Bicubic: Keys' kernel with a = -0.75,
    /// half-pixel centres, edge samples clamped.
    public static func interpolation(_ x: Tensor, _ op: Interpolation) -> Tensor {
        let size = op.outputSize(height: x.height, width: x.width)
        var y = Tensor(channels: x.channels, height: size.height, width: size.width)
        let rows = InterpolationTaps(kind: op.kind, input: x.height, output: size.height, alignCorners: op.alignCorners)
        let cols = InterpolationTaps(kind: op.kind, input: x.width, output: size.width, alignCorners: op.alignCorners)
        for c in 0..<x.channels {
            for oy in 0..<size.height {
                for ox in 0..<size.width {
                    var acc: Float = 0
                    for (iy, wy) in rows.taps(oy) {
                        for (ix, wx) in cols.taps(ox) {
                            acc += x[c, iy, ix] * wy * wx
                        }
                    }
                    y[c, oy, ox] = acc
                }
            }
        }
        return y
    }

    /// Runs a whole network one op at a time. Slow; meant for tests on small inputs.
    public static func run(_ network: Network, input: Tensor) throws -> Tensor {
        _ = try network.shapes(for: input.shape)
        var blobs: [String: Tensor] = [network.inputBlob: input]
        for layer in network.layers {
            let ins = layer.inputs.map { blobs[$0]! }
            let out: Tensor
            switch layer.operation {
            case .input: continue
            case .split: out = ins[0]
            case .concat: out = concat(ins)
            case .convolution(let conv): out = convolution(ins[0], conv)
            case .eltwise(let op): out = eltwise(ins, op)
            case .binary(let op): out = binary(ins[0], ins.count > 1 ? ins[1] : nil, op)
            case .interpolation(let op): out = interpolation(ins[0], op)
            case .prelu(let op): out = prelu(ins[0], op)
            case .pixelShuffle(let op): out = pixelShuffle(ins[0], op)
            }
            for blob in layer.outputs { blobs[blob] = out }
        }
        return blobs[network.outputBlob]!
    }
}

/// Source indices and weights of one output coordinate along one axis, shared by the reference and the engine.
package struct InterpolationTaps: Sendable {
    /// Source index of tap `t` of output `o` at `o * tapsPerOutput + t`.
    package let indices: [Int]
    /// Weight of the same tap.
    package let weights: [Float]
    /// 1 for nearest (then `indices[o]` is the source of output `o`), 4 for bicubic.
    package let tapsPerOutput: Int

    package init(kind: Interpolation.Kind, input: Int, output: Int, alignCorners: Bool) {
        switch kind {
        case .nearest:
            tapsPerOutput = 1
            let step = Float(input) / Float(output)
            indices = (0..<output).map { min(Int(Float($0) * step), input - 1) }
            weights = [Float](repeating: 1, count: output)
        case .bicubic:
            tapsPerOutput = 4
            var idx: [Int] = [], wts: [Float] = []
            for o in 0..<output {
                let position: Float =
                    alignCorners
                    ? (output > 1 ? Float(o) * Float(input - 1) / Float(output - 1) : 0)
                    : (Float(o) + 0.5) * Float(input) / Float(output) - 0.5
                let base = Int(position.rounded(.down))
                let t = position - Float(base)
                let coefficients = InterpolationTaps.cubic(t)
                for k in 0..<4 {
                    idx.append(min(max(base - 1 + k, 0), input - 1))
                    wts.append(coefficients[k])
                }
            }
            indices = idx
            weights = wts
        }
    }

    /// Keys' cubic convolution weights for the four samples around a fractional offset `t`.
    static func cubic(_ t: Float) -> [Float] {
        let a: Float = -0.75
        func near(_ d: Float) -> Float { ((a + 2) * d - (a + 3)) * d * d + 1 }
        func far(_ d: Float) -> Float { ((a * d - 5 * a) * d + 8 * a) * d - 4 * a }
        return [far(1 + t), near(t), near(1 - t), far(2 - t)]
    }

    package func taps(_ o: Int) -> Zip2Sequence<ArraySlice<Int>, ArraySlice<Float>> {
        let range = (o * tapsPerOutput)..<((o + 1) * tapsPerOutput)
        return zip(indices[range], weights[range])
    }
}
