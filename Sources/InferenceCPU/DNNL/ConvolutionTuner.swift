import Foundation
import Inference

/// Chooses, per convolution shape, between one primitive for all output channels and one per group of 32.
///
/// Both compute the same values (each output channel depends only on its own weights), but oneDNN's Winograd kernel
/// blocks the work differently: with 2 threads at 128 px, 192->64 runs in about 8.5 ms as one primitive and 6.8 ms as
/// two 192->32 halves, while at 512 px 64->64 is faster whole (31 ms against 39). Rather than hard-code a machine's
/// preference, the planner times both set-ups once per distinct shape, on the plan's own buffers, and keeps the faster.
struct ConvolutionTuner {
    struct Made {
        let primitives: [DNNLPrimitive]
        let leakySlope: Float?
    }

    private let backend: DNNLEngine
    private let grouping: ConvolutionGrouping
    /// Output-channel group size chosen per shape; `nil` means "whole".
    private var choices: [String: Int?] = [:]
    static let groupSize = 32

    init(backend: DNNLEngine, grouping: ConvolutionGrouping) {
        self.backend = backend
        self.grouping = grouping
    }

    mutating func make(
        layer: String, conv: Convolution, input: ViewPointer, output: BlobView,
        pointer: (BlobView) -> ViewPointer, scale: Float, sumScale: Float?, winograd: Bool,
        bf16Source: UnsafeMutableRawPointer?
    ) throws -> Made {
        func build(group: Int?) throws -> Made {
            guard let group else {
                let made = try ConvolutionFactory.make(
                    layer: layer, conv: conv, input: input, output: pointer(output),
                    scale: scale, sumScale: sumScale, backend: backend,
                    winograd: winograd, bf16Source: bf16Source)
                return Made(primitives: [made.primitive], leakySlope: made.leakySlope)
            }
            var primitives: [DNNLPrimitive] = []
            var slope: Float?
            for start in stride(from: 0, to: conv.outChannels, by: group) {
                var slice = output
                slice.channelOffset += start
                slice.channels = group
                let made = try ConvolutionFactory.make(
                    layer: "\(layer)[\(start)...]", conv: conv.restricted(to: start..<(start + group)),
                    input: input, output: pointer(slice), scale: scale,
                    sumScale: sumScale, backend: backend, winograd: winograd,
                    bf16Source: bf16Source)
                primitives.append(made.primitive)
                slope = made.leakySlope
            }
            return Made(primitives: primitives, leakySlope: slope)
        }

        let splittable = conv.outChannels > Self.groupSize && conv.outChannels % Self.groupSize == 0
        switch grouping {
        case _ where !splittable, .whole: return try build(group: nil)
        case .split: return try build(group: Self.groupSize)
        case .timed: break
        }
        let key =
            "\(conv.inChannels)>\(conv.outChannels) k\(conv.kernelHeight)x\(conv.kernelWidth) s\(conv.strideHeight) "
            + "\(output.height)x\(output.width) sum:\(sumScale != nil) act:\(conv.activation) bf16:\(bf16Source != nil)"
        if let decided = choices[key] { return try build(group: decided) }
        let whole = try build(group: nil)
        let split = try build(group: Self.groupSize)
        let wholeTime = try time(whole.primitives), splitTime = try time(split.primitives)
        choices[key] = splitTime < wholeTime ? Self.groupSize : nil
        if getenv("UPSCALER_PROFILE") != nil {
            let times = String(format: "whole %.2f ms, split %.2f ms", wholeTime / 1e6, splitTime / 1e6)
            FileHandle.standardError.write(Data("tuning \(key): \(times)\n".utf8))
        }
        return splitTime < wholeTime ? split : whole
    }

    /// Best of three runs; the first also warms caches and page-faults the buffers.
    private func time(_ primitives: [DNNLPrimitive]) throws -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            for primitive in primitives { try primitive.execute(on: backend) }
            try backend.wait()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start))
        }
        return best
    }
}
