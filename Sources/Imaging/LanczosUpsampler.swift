#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Lanczos3 enlargement along one axis of a planar ``RGBImage``.
///
/// It exists because libvips 8.14 cannot enlarge with a Lanczos kernel. Output sample `o` reads
/// the source at `(o + 0.5) * in / out - 0.5` (pixel centres, as libvips' reduce does), from the
/// six nearest source pixels; edge pixels are replicated and weights are normalised to sum to 1,
/// so flat regions stay exactly flat. Only enlargement is handled: shrinking needs a kernel widened
/// by the shrink factor, which libvips does.
struct LanczosUpsampler {
    static let taps = 6
    /// `taps` clamped source indices per output sample.
    let indices: [Int]
    /// `taps` normalised weights per output sample.
    let weights: [Float]
    let inputCount: Int
    let outputCount: Int

    init(from inputCount: Int, to outputCount: Int) {
        precondition(inputCount > 0 && outputCount >= inputCount)
        self.inputCount = inputCount
        self.outputCount = outputCount
        var indices = [Int](repeating: 0, count: outputCount * Self.taps)
        var weights = [Float](repeating: 0, count: outputCount * Self.taps)
        let step = Double(inputCount) / Double(outputCount)
        for o in 0..<outputCount {
            let x = (Double(o) + 0.5) * step - 0.5
            let first = Int(x.rounded(.down)) - 2
            var w = [Double](repeating: 0, count: Self.taps)
            var sum = 0.0
            for k in 0..<Self.taps {
                w[k] = lanczos3(x - Double(first + k))
                sum += w[k]
            }
            for k in 0..<Self.taps {
                indices[o * Self.taps + k] = min(max(first + k, 0), inputCount - 1)
                weights[o * Self.taps + k] = Float(w[k] / sum)
            }
        }
        self.indices = indices
        self.weights = weights
    }

    /// Enlarges along x: every row of every plane.
    func horizontal(_ image: RGBImage) -> RGBImage {
        precondition(image.width == inputCount)
        let rows = image.height * 3
        let out = [Float](unsafeUninitializedCapacity: rows * outputCount) { buffer, initialised in
            image.pixels.withUnsafeBufferPointer { src in
                indices.withUnsafeBufferPointer { idx in
                    weights.withUnsafeBufferPointer { wts in
                        for row in 0..<rows {
                            let input = src.baseAddress! + row * inputCount
                            let output = buffer.baseAddress! + row * outputCount
                            for o in 0..<outputCount {
                                let base = o * Self.taps
                                var acc: Float = 0
                                for k in 0..<Self.taps {
                                    acc += wts[base + k] * input[idx[base + k]]
                                }
                                output[o] = acc
                            }
                        }
                    }
                }
            }
            initialised = rows * outputCount
        }
        return RGBImage(width: outputCount, height: image.height, pixels: out)
    }

    /// Enlarges along y: each output row is a weighted sum of six whole source rows, which keeps
    /// the inner loop contiguous.
    func vertical(_ image: RGBImage) -> RGBImage {
        precondition(image.height == inputCount)
        return vertical(image, firstRow: 0, rows: 0..<outputCount)
    }

    /// The source rows that output rows `rows` read.
    func sourceRows(of rows: Range<Int>) -> ClosedRange<Int> {
        let read = indices[(rows.lowerBound * Self.taps)..<(rows.upperBound * Self.taps)]
        return read.min()!...read.max()!
    }

    /// Output rows `rows` only, from `image`, which holds source rows `firstRow...` and at least
    /// ``sourceRows(of:)``. Each row is the same sum, in the same order, as in the whole enlargement.
    func vertical(_ image: RGBImage, firstRow: Int, rows: Range<Int>) -> RGBImage {
        let needed = sourceRows(of: rows)
        precondition(needed.lowerBound >= firstRow && needed.upperBound < firstRow + image.height)
        let width = image.width
        let inPlane = width * image.height
        let outPlane = width * rows.count
        let out = [Float](unsafeUninitializedCapacity: outPlane * 3) { buffer, initialised in
            image.pixels.withUnsafeBufferPointer { src in
                for channel in 0..<3 {
                    let input = src.baseAddress! + channel * inPlane
                    for o in rows {
                        let output = buffer.baseAddress! + channel * outPlane + (o - rows.lowerBound) * width
                        output.update(repeating: 0, count: width)
                        for k in 0..<Self.taps {
                            let weight = weights[o * Self.taps + k]
                            let row = input + (indices[o * Self.taps + k] - firstRow) * width
                            for x in 0..<width {
                                output[x] += weight * row[x]
                            }
                        }
                    }
                }
            }
            initialised = outPlane * 3
        }
        return RGBImage(width: width, height: rows.count, pixels: out)
    }
}

/// The Lanczos kernel with three lobes: sinc(x) · sinc(x / 3) for |x| < 3.
func lanczos3(_ x: Double) -> Double {
    if x == 0 { return 1 }
    guard abs(x) < 3 else { return 0 }
    let px = Double.pi * x
    return 3 * sin(px) * sin(px / 3) / (px * px)
}
