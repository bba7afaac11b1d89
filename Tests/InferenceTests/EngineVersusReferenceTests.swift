import Foundation
import Inference
import InferenceCPU
import TestSupport
import Testing

/// Each op runs through the CPU engine and through the plain Swift reference on seeded random inputs, with 3x3
/// layers on oneDNN and on the engine's own Winograd kernels.
/// Tolerance: 1e-4 absolute on values of order 1 in fp32 (Winograd's transforms reorder fp32 sums; observed ~1e-6).
@Suite("CPU engine against the reference kernels")
struct EngineVersusReferenceTests {
    static let tolerance: Float = 1e-4

    func compare(
        _ network: Network, input: Tensor, tolerance: Float = tolerance, grouping: ConvolutionGrouping = .timed,
        kernels: CPUKernels = .onednn, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let engine = try CPUEngine(
            network: network,
            options: EngineOptions(threads: 2, grouping: grouping, kernels: kernels))
        let check = try checkAgainstReference(engine, input: input)
        if kernels == .winograd, network.layers.contains(where: Self.isWinogradShape) {
            #expect(
                engine.convolutionImplementations.contains("winograd_4x3:fp32"),
                "no layer ran on the Winograd kernels (this CPU: \(CPUInstructionSet.name))",
                sourceLocation: sourceLocation)
        }
        #expect(check.shapesMatch, sourceLocation: sourceLocation)
        #expect(
            check.difference <= tolerance, "max |engine - reference| = \(check.difference)",
            sourceLocation: sourceLocation)
        #expect(check.repeatable, "a second run on the same plan differs", sourceLocation: sourceLocation)
    }

    /// A 3x3, stride-1, pad-1 convolution: what the Winograd kernels take when its input is engine-made.
    static func isWinogradShape(_ layer: Layer) -> Bool {
        guard case .convolution(let conv) = layer.operation else { return false }
        return conv.kernelHeight == 3 && conv.kernelWidth == 3 && conv.strideHeight == 1 && conv.padTop == 1
            && layer.inputs != ["data"]
    }

    /// The op cases every backend runs (Tests/TestSupport/OpCase.swift), with 3x3 layers on oneDNN and on our kernels.
    @Test(arguments: OpCase.all, [CPUKernels.onednn, .winograd])
    func op(_ c: OpCase, _ kernels: CPUKernels) throws {
        let (network, input) = try c.build()
        try compare(network, input: input, kernels: kernels)
    }

    /// Convolutions split into 32-channel output groups, with a fused residual sum and an unfused leaky ReLU.
    @Test(arguments: [ConvolutionGrouping.split, .whole])
    func outputChannelGroups(_ grouping: ConvolutionGrouping) throws {
        var b = ModelBuilder(seed: 13)
        b.convolution("data", "x", inChannels: 3, outChannels: 64)
        b.layer("Split", "split_x", ["x"], ["x_a", "x_b"])
        b.convolution("x_a", "y", inChannels: 64, outChannels: 96, activation: "9=2 -23310=1,2.000000e-01")
        b.convolution("y", "z", inChannels: 96, outChannels: 64)
        b.layer("Eltwise", "residual", ["z", "x_b"], ["output"], "0=1 -23301=2,2.000000e-01,1.000000e+00")
        try compare(b.network(), input: b.random.tensor(3, 15, 18), grouping: grouping)
    }

    /// Releasing the buffers frees the plan (issue 14: a job of an unusual tile does not keep its memory), and the
    /// next run plans again and still matches the reference.
    @Test func releasedBuffersArePlannedAgain() throws {
        let (network, input) = try OpCase.all[0].build()
        let engine = try CPUEngine(network: network, options: EngineOptions(threads: 2))
        _ = try engine.run(input)
        #expect(engine.planBytes > 0)
        engine.releaseBuffers()
        #expect(engine.planBytes == 0)
        let check = try checkAgainstReference(engine, input: input)
        #expect(check.shapesMatch && check.difference <= Self.tolerance, "\(check.difference)")
        #expect(engine.planBytes > 0)
    }

    /// Whole shipped models on small inputs, when the set-up script has installed them.
    @Test(arguments: [("realesr-animevideov3", 20), ("realesrgan-x4plus", 10)])
    func shippedModel(_ name: String, _ size: Int) throws {
        guard let files = installedModel(name) else {
            Issue.record("model \(name) is not installed; run scripts/setup.sh")
            return
        }
        let network = try Network(paramFile: files.param, binFile: files.bin)
        var random = SeededRandom(seed: 1)
        let input = random.tensor(3, size, size + 3, 0, 1)
        try compare(network, input: input, tolerance: 2e-4)
        try compare(network, input: input, tolerance: 2e-4, kernels: .winograd)
    }
}
