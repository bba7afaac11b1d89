import CWinograd
import Dispatch
import Inference

/// A 3x3, stride-1, pad-1 convolution on the engine's own Winograd F(4x4, 3x3) kernels (`Sources/CWinograd`), in fp32
/// or with bf16 products. Reads and writes blocked views in place, so concat slices stay free, and fuses the bias, a
/// residual sum and a (leaky) ReLU into the output transform.
final class WinogradConvolution: @unchecked Sendable {
    /// The precisions this CPU's kernels run: fp32 needs AVX-512, bf16 also AVX-512 BF16.
    static let supportedPrecisions: Set<Precision> = {
        let mask = upscaler_winograd_supported()
        var set = Set<Precision>()
        if mask & 1 != 0 { set.insert(.fp32) }
        if mask & 2 != 0 { set.insert(.bf16) }
        return set
    }()

    /// Where `CPUKernels.auto` prefers these kernels to oneDNN's, from `upscaler bench` (see the README): in bf16,
    /// where oneDNN has no Winograd, and in fp32, where they overtook oneDNN's `jit_wino_4x3` once their products
    /// kept every accumulator in a register.
    static let preferred: Set<Precision> = [.fp32, .bf16]

    /// Whether `conv` reading `input` and writing `output` is a shape these kernels compute.
    static func accepts(_ conv: Convolution, input: BlobView, inputPlain: Bool, output: BlobView) -> Bool {
        conv.kernelHeight == 3 && conv.kernelWidth == 3 && conv.strideHeight == 1 && conv.strideWidth == 1
            && conv.dilationHeight == 1 && conv.dilationWidth == 1
            && conv.padTop == 1 && conv.padLeft == 1 && conv.padBottom == 1 && conv.padRight == 1
            && !inputPlain && input.height == output.height && input.width == output.width
    }

    private let handle: OpaquePointer
    /// Negative-side slope per (padded) output channel, or `nil` for no activation.
    private let slopes: [Float]?
    let scratchBytes: Int

    /// `inChannels` is the padded channel count of the input view; `scale` multiplies weights and bias, as the
    /// planner's fused residual sum asks; `prelu`, when given, is a PReLU layer folded into this one (the layer itself
    /// then has no activation).
    init(_ conv: Convolution, inChannels: Int, scale: Float, precision: Precision, prelu: PReLU? = nil) throws {
        let outChannels = (conv.outChannels + 15) & ~15
        let weights = conv.paddedWeights(inChannels: inChannels, outChannels: outChannels, scale: scale)
        let bias = conv.paddedBias(outChannels: outChannels, scale: scale)
        guard
            let handle = upscaler_winograd_create(
                Int32(inChannels), Int32(outChannels), weights, bias,
                precision == .bf16 ? UPSCALER_WINOGRAD_BF16 : UPSCALER_WINOGRAD_FP32)
        else {
            throw InferenceError(
                .unsupportedPrecision, "this CPU cannot run the \(precision.rawValue) Winograd kernels")
        }
        self.handle = handle
        switch (conv.activation, prelu) {
        case (.none, nil): slopes = nil
        case (.none, let prelu?):
            slopes = (0..<outChannels).map { o in o < conv.outChannels ? prelu.slope(channel: o) : 0 }
        case (.relu, _): slopes = [Float](repeating: 0, count: outChannels)
        case (.leakyReLU(let s), _): slopes = [Float](repeating: s, count: outChannels)
        }
        scratchBytes = upscaler_winograd_scratch_bytes(handle)
    }

    deinit { upscaler_winograd_destroy(handle) }

    /// Runs the layer over the whole view, its tiles split into contiguous runs across `scratch.count` threads.
    func run(input: ViewPointer, output: ViewPointer, sumScale: Float?, scratch: [UnsafeMutableRawPointer]) {
        let height = Int32(output.view.height), width = Int32(output.view.width)
        let tiles = Int(upscaler_winograd_tiles(height, width))
        // Runs of whole 12-tile units (the products' register blocks compute 12 tiles at a time), so each thread
        // computes padding tiles in its last unit at most.
        let units = (tiles + 11) / 12
        let workers = max(1, min(scratch.count, units))
        let source = UncheckedSendable(input.start), target = UncheckedSendable(output.start)
        let handle = UncheckedSendable(handle), scratch = UncheckedSendable(scratch)
        withOptionalPointer(slopes) { slopes in
            let slopes = UncheckedSendable(slopes)
            let work: @Sendable (Int) -> Void = { w in
                let lower = min(tiles, units * w / workers * 12), upper = min(tiles, units * (w + 1) / workers * 12)
                guard lower < upper else { return }
                upscaler_winograd_run(
                    handle.value, source.value, target.value, height, width, Int32(lower),
                    Int32(upper), sumScale == nil ? 0 : 1, sumScale ?? 0, slopes.value,
                    scratch.value[w])
            }
            if workers == 1 { return work(0) }
            DispatchQueue.concurrentPerform(iterations: workers, execute: work)
        }
    }
}

/// Calls `body` with the array's base address, or with `nil` when there is no array.
private func withOptionalPointer(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
    guard let values else { return body(nil) }
    values.withUnsafeBufferPointer { body($0.baseAddress) }
}
