import CDNNL
import Foundation
public import Inference

/// Whether a convolution runs as one primitive or as one per group of 32 output channels. Both compute the same
/// values; which is faster depends on the shape and the machine.
public enum ConvolutionGrouping: Sendable {
    /// Time both once per distinct shape while planning and keep the faster (the default).
    case timed
    /// Always one primitive: reproducible kernel choice.
    case whole
    /// Always split where the output channels allow it.
    case split
}

/// Options that shape how the engine runs.
public struct EngineOptions: Sendable {
    /// Worker threads for the engine's own kernels, and for oneDNN where it runs the 3x3 layers; defaults to every
    /// core.
    public var threads: Int
    /// Use oneDNN's Winograd convolution where it accepts the layer (3x3, stride 1).
    public var winograd: Bool
    public var precision: Precision
    /// How convolutions with many output channels are split into primitives (see `ConvolutionTuner`).
    public var grouping: ConvolutionGrouping
    /// Whether 3x3 layers may run on the engine's own Winograd kernels instead of oneDNN; `nil` reads
    /// `UPSCALER_CPU_KERNELS` when the engine is made (`auto` when unset).
    public var kernels: CPUKernels?

    public init(
        threads: Int = defaultThreadCount, winograd: Bool = true, precision: Precision = .fp32,
        grouping: ConvolutionGrouping = .timed, kernels: CPUKernels? = nil
    ) {
        self.threads = max(1, threads)
        self.winograd = winograd
        self.precision = precision
        self.grouping = grouping
        self.kernels = kernels
    }

    /// Whether a 3x3 layer the Winograd kernels accept runs on them, given this CPU.
    var ownWinograd: Bool {
        guard winograd, WinogradConvolution.supportedPrecisions.contains(precision) else { return false }
        switch kernels ?? .auto {
        case .onednn: return false
        case .winograd: return true
        case .auto: return WinogradConvolution.preferred.contains(precision)
        }
    }

    public static var defaultThreadCount: Int { max(1, Int(omp_get_max_threads())) }
}

/// Runs a network on the CPU, convolutions on oneDNN. Planning happens once per input shape; the last plan and its
/// buffers are reused.
///
/// Not thread-safe: one engine serves one caller at a time (the tiler), which keeps memory bounded to one plan.
public final class CPUEngine: NetworkRunner {
    public let network: Network
    public let options: EngineOptions
    private let backend: DNNLEngine
    private var plan: ExecutionPlan?

    public init(network: Network, options: EngineOptions = EngineOptions()) throws {
        guard options.precision != .fp16 else {
            throw InferenceError(.unsupportedPrecision, "fp16 is a GPU precision; the CPU runs fp32 or bf16")
        }
        var options = options
        options.kernels = try options.kernels ?? CPUKernels.fromEnvironment()
        self.network = network
        self.options = options
        // With our kernels on the 3x3 layers, oneDNN runs only what they do not take (the RGB input layer), and its
        // OpenMP workers, which spin for a while after each such layer before they sleep (libgomp's default), took a
        // core from our kernels' threads: animevideov3 on 176 px photos (four tiles) ran 25 % faster with oneDNN on
        // one thread (`upscaler bench --model realesr-animevideov3 --sizes 176`). libgomp reads its wait policy
        // (`OMP_WAIT_POLICY`, `GOMP_SPINCOUNT`) when it loads, so it cannot be changed from here; one thread has no
        // workers to spin.
        setBackendThreads(options.ownWinograd ? 1 : options.threads)
        backend = try DNNLEngine()
    }

    /// fp32, plus bf16 where this CPU runs the engine's own bf16 kernels (AVX-512 BF16): the precisions worth timing.
    public static var fastPrecisions: [Precision] {
        WinogradConvolution.supportedPrecisions.contains(.bf16) ? [.fp32, .bf16] : [.fp32]
    }

    /// Runs the network on one input tensor.
    public func run(_ input: Tensor) throws -> Tensor {
        guard input.channels == network.inputChannels else {
            throw InferenceError(
                .shapeMismatch, "the model expects \(network.inputChannels) input channels, got \(input.channels)")
        }
        try prepare(for: input.shape)
        return try plan!.run(input)
    }

    /// Plans for inputs of `shape` now, unless the current plan has it: what the first `run` of a new shape does
    /// (primitive creation, buffers), for callers that time runs apart from planning.
    public func prepare(for shape: Shape) throws {
        guard plan?.inputShape != shape else { return }
        plan = nil  // free the old buffers before making new ones
        plan = try ExecutionPlan(network: network, input: shape, backend: backend, options: options)
    }

    /// The engine's own Winograd kernels compute 4x4 tiles, so multiples of 4 leave none partly empty (148 px for a
    /// 128 px photo with the default padding, not 152: `bench --size 148` against `--size 152`, five runs, three
    /// alternations, 1.535/1.447/1.407 s against 1.561/1.682/1.472 s). oneDNN's Winograd kernel, where it runs
    /// instead, runs tile counts without a small divisor at half speed (148 px: 0.09 output MP/s against 0.2 at 144
    /// or 152); multiples of 8 measured fast at every size from 64 to 264 (`upscaler bench --sizes`). A network that
    /// unshuffles its input by 2 or 4 (RRDBNet at 2x or 1x) needs a multiple of that, which both are.
    public var preferredAlignment: Int {
        let unit = options.ownWinograd ? 4 : 8
        let needed = network.inputAlignment
        return unit % needed == 0 ? unit : unit * needed
    }

    /// Implementation names oneDNN chose per convolution in the current plan, for benchmarks and diagnostics.
    public var convolutionImplementations: [String] { plan?.implementations ?? [] }

    /// Seconds per kind of step over all runs of the current plan, when `UPSCALER_PROFILE` is set.
    public var profile: [String: Double] { plan?.profile ?? [:] }

    /// Bytes held by the current plan's activation buffers.
    public var planBytes: Int { plan?.bufferBytes ?? 0 }

    public func releaseBuffers() {
        plan = nil
    }
}
