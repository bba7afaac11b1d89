import Inference
import InferenceCPU
import TestSupport
import Testing

/// The engine's own Winograd F(4x4, 3x3) kernels (Sources/CWinograd) against the plain Swift reference, on odd
/// image sizes (partial tiles on the right and bottom), channel counts that leave whole and partial register blocks,
/// and every fused epilogue.
///
/// Tolerances: fp32 1e-4 absolute, as for every op. bf16 rounds the transformed inputs and weights to 8 significant
/// bits, and on white-noise tensors (the hardest case for Winograd: no smoothness for the transforms to exploit) that
/// costs up to about 3 % of the largest output value (observed 2.1-2.6 %). The bound, 5 %, still catches a wrong
/// transform, layout or epilogue, which are off by tens of percent.
@Suite("Winograd kernels against the reference kernels")
struct WinogradKernelTests {
    struct Shape: Sendable, CustomStringConvertible {
        var inChannels: Int, outChannels: Int, height: Int, width: Int
        var activation = ""
        var residual = false
        /// A PReLU after the layer, which the engine folds into the output transform.
        var prelu = false
        var offset: Float = 0
        var description: String {
            "\(inChannels)->\(outChannels) \(height)x\(width) \(activation)\(residual ? " +residual" : "")\(prelu ? " +PReLU" : "")"
                + (offset != 0 ? " offset \(offset)" : "")
        }
    }

    static let shapes: [Shape] = [
        Shape(inChannels: 16, outChannels: 16, height: 1, width: 1),
        Shape(inChannels: 32, outChannels: 48, height: 3, width: 2, activation: "9=1"),
        Shape(inChannels: 64, outChannels: 64, height: 4, width: 4, activation: "9=2 -23310=1,2.000000e-01"),
        Shape(inChannels: 96, outChannels: 32, height: 13, width: 21, activation: "9=2 -23310=1,2.000000e-01"),
        Shape(inChannels: 64, outChannels: 112, height: 9, width: 30),
        Shape(inChannels: 80, outChannels: 80, height: 10, width: 11, residual: true),
        Shape(inChannels: 48, outChannels: 3, height: 27, width: 17),
        Shape(inChannels: 64, outChannels: 48, height: 19, width: 14, prelu: true),
        // Activations far from zero: the bf16 path subtracts a per-tile offset and adds it back exactly.
        Shape(inChannels: 32, outChannels: 32, height: 25, width: 26, offset: 6),
    ]

    /// One convolution reading engine-made storage (a 1x1 lift from RGB), optionally with a residual sum the planner
    /// fuses into it (then the layer keeps its input's channel count).
    static func build(_ s: Shape) throws -> (Network, Tensor) {
        var b = ModelBuilder(seed: 29)
        b.convolution("data", "lifted", inChannels: 3, outChannels: s.inChannels, kernel: 1, pad: 0)
        if s.residual {
            b.layer("Split", "split", ["lifted"], ["a", "b"])
            b.convolution("a", "conv", inChannels: s.inChannels, outChannels: s.inChannels, activation: s.activation)
            b.layer("Eltwise", "sum", ["conv", "b"], ["output"], "0=1 -23301=2,2.000000e-01,1.000000e+00")
        } else if s.prelu {
            b.convolution("lifted", "conv", inChannels: s.inChannels, outChannels: s.outChannels)
            b.prelu("conv", "output", channels: s.outChannels)
        } else {
            b.convolution(
                "lifted", "output", inChannels: s.inChannels, outChannels: s.outChannels,
                activation: s.activation)
        }
        return (try b.network(), b.random.tensor(3, s.height, s.width, s.offset - 1, s.offset + 1))
    }

    @Test(arguments: shapes)
    func fp32(_ s: Shape) throws {
        let (network, input) = try Self.build(s)
        let engine = try CPUEngine(network: network, options: EngineOptions(threads: 2, kernels: .winograd))
        let check = try checkAgainstReference(engine, input: input)
        #expect(
            engine.convolutionImplementations.contains("winograd_4x3:fp32"),
            "\(engine.convolutionImplementations) on \(CPUInstructionSet.name)")
        #expect(check.shapesMatch)
        #expect(check.difference <= 1e-4, "max |engine - reference| = \(check.difference)")
        #expect(check.repeatable)
    }

    @Test(arguments: shapes)
    func bf16(_ s: Shape) throws {
        let (network, input) = try Self.build(s)
        let engine = try CPUEngine(
            network: network,
            options: EngineOptions(threads: 2, precision: .bf16, kernels: .winograd))
        let output = try engine.run(input)
        let reference = try ReferenceKernels.run(network, input: input)
        #expect(
            engine.convolutionImplementations.contains("winograd_4x3:bf16"),
            "this CPU (\(CPUInstructionSet.name)) has no AVX-512 BF16: \(engine.convolutionImplementations)")
        let scale = reference.data.reduce(0) { max($0, abs($1)) }
        let difference = maxAbsDifference(output, reference)
        #expect(difference <= 0.05 * scale, "max |engine - reference| = \(difference), largest value \(scale)")
        #expect(difference > 0, "bf16 gave the exact fp32 result: it did not run in bf16")
        #expect(try engine.run(input) == output)
    }

    /// Every shared op case in bf16 with 3x3 layers on our kernels (dense blocks, concat slots, fused sums, PReLU
    /// folding), against the reference kernels.
    @Test(arguments: OpCase.all)
    func bf16OpCases(_ c: OpCase) throws {
        let (network, input) = try c.build()
        let engine = try CPUEngine(
            network: network,
            options: EngineOptions(threads: 2, precision: .bf16, kernels: .winograd))
        let output = try engine.run(input)
        let reference = try ReferenceKernels.run(network, input: input)
        let scale = reference.data.reduce(0) { max($0, abs($1)) }
        let difference = maxAbsDifference(output, reference)
        #expect(difference <= 0.05 * scale, "max |engine - reference| = \(difference), largest value \(scale)")
        #expect(try engine.run(input) == output)
    }

    /// Tiles are independent, so how they are split across threads cannot change a value.
    @Test(arguments: [Precision.fp32, .bf16])
    func threadCountDoesNotChangeTheResult(_ precision: Precision) throws {
        let (network, input) = try Self.build(
            Shape(
                inChannels: 64, outChannels: 32, height: 45, width: 38,
                activation: "9=2 -23310=1,2.000000e-01"))
        let outputs = try [1, 2, 3].map { threads in
            try CPUEngine(
                network: network,
                options: EngineOptions(
                    threads: threads, precision: precision,
                    kernels: .winograd)
            ).run(input)
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[0] == outputs[2])
    }
}
