import CDNNL
import Foundation
import Inference

/// A plan with buffers assigned and primitives created.
final class ExecutionPlan {
    enum Step {
        /// One primitive, or several that each write a group of output channels (see `ConvolutionTuner`).
        case convolution([DNNLPrimitive], leakySlope: Float?, output: ViewPointer)
        /// A 3x3 layer on the engine's own Winograd kernels, activation and residual sum fused.
        case winograd(WinogradConvolution, input: ViewPointer, output: ViewPointer, sumScale: Float?)
        case copy(ViewPointer, ViewPointer)
        case eltwise([ViewPointer], ViewPointer, Eltwise)
        case binary(ViewPointer, ViewPointer?, ViewPointer, BinaryOperation)
        case prelu(ViewPointer, ViewPointer, PReLU)
        case pixelShuffle(ViewPointer, ViewPointer, PixelShuffle)
        case interpolation(ViewPointer, ViewPointer, InterpolationTaps, InterpolationTaps)
        /// Refreshes the bf16 shadow of a view a later bf16 convolution reads.
        case shadow(UnsafeMutablePointer<Float>, UnsafeMutablePointer<UInt16>, count: Int)

        var kind: String {
            switch self {
            case .convolution(_, let slope, _): return slope == nil ? "convolution" : "convolution+leaky"
            case .winograd: return "winograd convolution"
            case .copy: return "copy"
            case .eltwise: return "eltwise"
            case .binary: return "binary"
            case .prelu: return "prelu"
            case .pixelShuffle: return "pixelShuffle"
            case .interpolation: return "interpolation"
            case .shadow: return "bf16 conversion"
            }
        }
    }

    let inputShape: Shape
    private let buffers: [AlignedBuffer<Float>]
    private let shadows: [AlignedBuffer<UInt16>]
    /// One scratch area per thread for the Winograd kernels, sized for the largest layer.
    private let scratch: [AlignedBuffer<UInt8>]
    private let scratchPointers: [UnsafeMutableRawPointer]
    private let steps: [Step]
    private let input: ViewPointer
    private let output: ViewPointer
    private let backend: DNNLEngine
    private let threads: Int
    let implementations: [String]

    var bufferBytes: Int {
        buffers.reduce(0) { $0 + $1.byteCount } + shadows.reduce(0) { $0 + $1.byteCount }
            + scratch.reduce(0) { $0 + $1.byteCount }
    }

    init(network: Network, input shape: Shape, backend: DNNLEngine, options: EngineOptions) throws {
        var logical = try Planner.plan(network, input: shape)
        let storages = logical.storages
        func runsOnWinograd(_ conv: Convolution, _ input: BlobView, _ output: BlobView) -> Bool {
            options.ownWinograd
                && WinogradConvolution.accepts(
                    conv, input: input, inputPlain: storages[input.storage].plain,
                    output: output)
        }
        // Before buffers are assigned, so liveness sees the layer write the PReLU's output.
        let foldedPReLUs = Self.foldPReLUs(into: &logical.steps, where: runsOnWinograd)
        let (counts, storageBuffer) = BufferAssignment.assign(logical)
        let buffers = counts.map { AlignedBuffer<Float>(count: $0) }
        func pointer(_ view: BlobView) -> ViewPointer {
            ViewPointer(
                base: buffers[storageBuffer[view.storage]].pointer,
                plain: logical.storages[view.storage].plain, view: view)
        }
        // bf16: every blocked storage a convolution reads gets a bf16 shadow, refreshed slice by slice as producers
        // write it, so a dense block converts each new slice once instead of its whole growing concat per layer.
        var shadows: [Int: AlignedBuffer<UInt16>] = [:]  // by buffer index
        var shadowed = Set<Int>()  // storages
        if options.precision == .bf16 {
            for case .convolution(_, let conv, let input, let output, _, _) in logical.steps
            where !logical.storages[input.storage].plain && !runsOnWinograd(conv, input, output) {
                shadowed.insert(input.storage)
                let buffer = storageBuffer[input.storage]
                if shadows[buffer] == nil { shadows[buffer] = AlignedBuffer(count: buffers[buffer].count) }
            }
        }
        func shadowPointer(_ view: BlobView) -> UnsafeMutablePointer<UInt16>? {
            guard shadowed.contains(view.storage) else { return nil }
            return shadows[storageBuffer[view.storage]]!.pointer + view.channelOffset * view.plane
        }

        var steps: [Step] = []
        var implementations: [String] = []
        var tuner = ConvolutionTuner(backend: backend, grouping: options.grouping)
        var scratchBytes = 0
        for (index, step) in logical.steps.enumerated() {
            switch step {
            case .convolution(_, let conv, let input, let output, let scale, let sumScale)
            where runsOnWinograd(conv, input, output):
                let layer = try WinogradConvolution(
                    conv, inChannels: input.paddedChannels, scale: scale,
                    precision: options.precision, prelu: foldedPReLUs[index])
                scratchBytes = max(scratchBytes, layer.scratchBytes)
                implementations.append("winograd_4x3:\(options.precision.rawValue)")
                steps.append(.winograd(layer, input: pointer(input), output: pointer(output), sumScale: sumScale))
            case .convolution(let layer, let conv, let input, let output, let scale, let sumScale):
                let made = try tuner.make(
                    layer: layer, conv: conv, input: pointer(input), output: output, pointer: pointer, scale: scale,
                    sumScale: sumScale, winograd: options.winograd,
                    bf16Source: shadowPointer(input).map { UnsafeMutableRawPointer($0) })
                implementations += made.primitives.map(\.implementation)
                steps.append(.convolution(made.primitives, leakySlope: made.leakySlope, output: pointer(output)))
            case .copy(let from, let to):
                steps.append(.copy(pointer(from), pointer(to)))
            case .eltwise(let inputs, let output, let op):
                steps.append(.eltwise(inputs.map(pointer), pointer(output), op))
            case .binary(let a, let b, let output, let op):
                steps.append(.binary(pointer(a), b.map(pointer), pointer(output), op))
            case .prelu(let input, let output, let op):
                steps.append(.prelu(pointer(input), pointer(output), op))
            case .pixelShuffle(let input, let output, let op):
                steps.append(.pixelShuffle(pointer(input), pointer(output), op))
            case .interpolation(let input, let output, let op):
                steps.append(
                    .interpolation(
                        pointer(input), pointer(output),
                        InterpolationTaps(
                            kind: op.kind, input: input.height, output: output.height, alignCorners: op.alignCorners),
                        InterpolationTaps(
                            kind: op.kind, input: input.width, output: output.width, alignCorners: op.alignCorners)))
            }
            let written = step.output
            if let shadow = shadowPointer(written) {
                steps.append(.shadow(pointer(written).start, shadow, count: written.paddedChannels * written.plane))
            }
        }
        self.inputShape = shape
        self.buffers = buffers
        self.shadows = Array(shadows.values)
        self.scratch = scratchBytes == 0 ? [] : (0..<options.threads).map { _ in AlignedBuffer(count: scratchBytes) }
        self.scratchPointers = scratch.map { UnsafeMutableRawPointer($0.pointer) }
        self.steps = steps
        self.input = pointer(logical.inputView)
        self.output = pointer(logical.outputView)
        self.backend = backend
        self.threads = options.threads
        self.implementations = implementations
    }

    /// Folds each PReLU that directly follows a Winograd layer and only re-reads its output into that layer, which
    /// then writes the PReLU's output (animevideov3 has one after every convolution: this saves a pass over the
    /// activations each). Returns the PReLUs by the index of the layer that now applies them.
    private static func foldPReLUs(
        into steps: inout [PlannedStep],
        where eligible: (Convolution, BlobView, BlobView) -> Bool
    ) -> [Int: PReLU] {
        var folded: [Int: PReLU] = [:]
        var index = 0
        while index + 1 < steps.count {
            defer { index += 1 }
            guard case .convolution(let layer, let conv, let input, let output, let scale, nil) = steps[index],
                conv.activation == .none, eligible(conv, input, output),
                case .prelu(let preluInput, let preluOutput, let op) = steps[index + 1], preluInput == output,
                // The layer writes whole 16-channel blocks, so only a block-aligned view may take its output.
                preluOutput.channelOffset % 16 == 0, !preluOutput.overlaps(input),
                // In place, nothing can read the values before the PReLU; otherwise nothing later may.
                preluOutput == output
                    || !steps[(index + 2)...].contains(where: { $0.reads.contains { $0.overlaps(output) } })
            else { continue }
            steps[index] = .convolution(
                layer: layer, conv: conv, input: input, output: preluOutput, scale: scale,
                sumScale: nil)
            steps.remove(at: index + 1)
            folded[index] = op
        }
        return folded
    }

    /// Seconds spent per kind of step, collected only when `UPSCALER_PROFILE` is set (for `upscaler bench`).
    private(set) var profile: [String: Double] = [:]
    private let profiling = getenv("UPSCALER_PROFILE") != nil

    func run(_ tensor: Tensor) throws -> Tensor {
        tensor.data.withUnsafeBufferPointer { input.start.update(from: $0.baseAddress!, count: $0.count) }
        for step in steps {
            let started = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            defer {
                if profiling {
                    profile["\(step.kind)", default: 0] += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                }
            }
            switch step {
            case .convolution(let primitives, let slope, let output):
                for primitive in primitives { try primitive.execute(on: backend) }
                try backend.wait()
                if let slope {
                    let activationStart = profiling ? DispatchTime.now().uptimeNanoseconds : 0
                    Kernels.leakyReLU(output, slope: slope, threads: threads)
                    if profiling {
                        profile["leaky ReLU pass", default: 0] +=
                            Double(DispatchTime.now().uptimeNanoseconds - activationStart) / 1e9
                    }
                }
            case .winograd(let layer, let input, let output, let sumScale):
                layer.run(input: input, output: output, sumScale: sumScale, scratch: scratchPointers)
            case .copy(let from, let to):
                Kernels.copy(from, to, threads: threads)
            case .eltwise(let inputs, let output, let op):
                Kernels.eltwise(inputs, output, op, threads: threads)
            case .binary(let a, let b, let output, let op):
                Kernels.binary(a, b, output, op, threads: threads)
            case .prelu(let input, let output, let op):
                Kernels.prelu(input, output, op, threads: threads)
            case .pixelShuffle(let input, let output, let op):
                Kernels.pixelShuffle(input, output, op, threads: threads)
            case .interpolation(let input, let output, let rows, let columns):
                Kernels.interpolation(input, output, rows: rows, columns: columns, threads: threads)
            case .shadow(let source, let target, let count):
                Kernels.convertToBF16(source, target, count: count, threads: threads)
            }
        }
        let v = output.view
        var result = Tensor(channels: v.channels, height: v.height, width: v.width)
        result.data.withUnsafeMutableBufferPointer { out in
            if output.plain {
                out.baseAddress!.update(from: output.start, count: out.count)
                return
            }
            for c in 0..<v.channels {
                let block = output.start + (c >> 4) * v.plane * 16 + (c & 15)
                let plane = out.baseAddress! + c * v.plane
                for p in 0..<v.plane { plane[p] = block[p * 16] }
            }
        }
        return result
    }
}
