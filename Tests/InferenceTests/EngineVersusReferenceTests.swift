import Foundation
import TestSupport
import Testing
@testable import Inference

/// Each op runs through the oneDNN engine and through the plain Swift reference on seeded random inputs.
/// Tolerance: 1e-4 absolute on values of order 1 (Winograd's transforms reorder fp32 sums; observed ~1e-6).
@Suite("oneDNN engine against the reference kernels")
struct EngineVersusReferenceTests {
    static let tolerance: Float = 1e-4

    func compare(_ network: Network, input: Tensor, tolerance: Float = tolerance, grouping: ConvolutionGrouping = .timed,
                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let engine = try InferenceEngine(network: network, options: EngineOptions(threads: 2, grouping: grouping))
        let fast = try engine.run(input)
        let reference = try ReferenceKernels.run(network, input: input)
        #expect(fast.shape == reference.shape, sourceLocation: sourceLocation)
        let difference = maxAbsDifference(fast, reference)
        #expect(difference <= tolerance, "max |engine - reference| = \(difference)", sourceLocation: sourceLocation)
        // And a second run on the same plan gives the same answer (buffers are reused, not stale).
        #expect(try engine.run(input) == fast, sourceLocation: sourceLocation)
    }

    struct ConvolutionCase: Sendable, CustomStringConvertible {
        var inChannels, outChannels, kernel, stride, pad, size: Int
        var activation: String
        var description: String { "\(inChannels)->\(outChannels) k\(kernel) s\(stride) p\(pad) \(size)px \(activation)" }
    }

    @Test(arguments: [
        ConvolutionCase(inChannels: 3, outChannels: 64, kernel: 3, stride: 1, pad: 1, size: 13, activation: ""),
        ConvolutionCase(inChannels: 64, outChannels: 32, kernel: 3, stride: 1, pad: 1, size: 17, activation: "9=2 -23310=1,2.000000e-01"),
        ConvolutionCase(inChannels: 32, outChannels: 3, kernel: 3, stride: 1, pad: 1, size: 16, activation: ""),
        ConvolutionCase(inChannels: 16, outChannels: 48, kernel: 3, stride: 1, pad: 1, size: 9, activation: "9=1"),
        ConvolutionCase(inChannels: 20, outChannels: 24, kernel: 1, stride: 1, pad: 0, size: 11, activation: ""),
        ConvolutionCase(inChannels: 16, outChannels: 16, kernel: 3, stride: 2, pad: 1, size: 15, activation: "9=2 -23310=1,1.000000e-01"),
        ConvolutionCase(inChannels: 5, outChannels: 7, kernel: 5, stride: 1, pad: 2, size: 10, activation: ""),
    ])
    func convolution(_ c: ConvolutionCase) throws {
        var builder = ModelBuilder(seed: 7)
        if c.inChannels == 3 {
            builder.convolution("data", "output", inChannels: 3, outChannels: c.outChannels, kernel: c.kernel,
                                stride: c.stride, pad: c.pad, activation: c.activation)
            try compare(builder.network(), input: builder.random.tensor(3, c.size, c.size))
        } else {
            // The first layer lifts RGB to the channel count under test, so the case runs on blocked storage.
            builder.convolution("data", "lifted", inChannels: 3, outChannels: c.inChannels, kernel: 1, pad: 0)
            builder.convolution("lifted", "output", inChannels: c.inChannels, outChannels: c.outChannels,
                                kernel: c.kernel, stride: c.stride, pad: c.pad, activation: c.activation)
            try compare(builder.network(), input: builder.random.tensor(3, c.size, c.size))
        }
    }

    /// A dense block as in RRDB: growing concats, leaky convolutions, and a scaled residual sum fused into the last one.
    @Test func denseBlockWithResidual() throws {
        var b = ModelBuilder(seed: 11)
        let leaky = "9=2 -23310=1,2.000000e-01"
        b.convolution("data", "x", inChannels: 3, outChannels: 32)
        b.layer("Split", "split_x", ["x"], ["x_a", "x_b", "x_c", "x_d"])
        b.convolution("x_a", "x1", inChannels: 32, outChannels: 16, activation: leaky)
        b.layer("Split", "split_x1", ["x1"], ["x1_a", "x1_b"])
        b.layer("Concat", "cat1", ["x_b", "x1_a"], ["c1"])
        b.convolution("c1", "x2", inChannels: 48, outChannels: 16, activation: leaky)
        b.layer("Concat", "cat2", ["x_c", "x1_b", "x2"], ["c2"])
        b.convolution("c2", "x3", inChannels: 64, outChannels: 32)
        b.layer("Eltwise", "residual", ["x3", "x_d"], ["sum"], "0=1 -23301=2,2.000000e-01,1.000000e+00")
        b.layer("Split", "split_sum", ["sum"], ["sum_a", "sum_b"])
        b.convolution("sum_a", "y", inChannels: 32, outChannels: 32)
        b.layer("BinaryOp", "add", ["sum_b", "y"], ["output"], "0=0")
        try compare(b.network(), input: b.random.tensor(3, 14, 19))
    }

    /// Concat slots that do not start on a 16-channel block boundary are filled by copies that share a block with their
    /// neighbour: the plain RGB input at 0, then 8 channels at 3 and 8 at 11, and an aligned 8 + misaligned 8 pair.
    @Test func misalignedConcatSlots() throws {
        var b = ModelBuilder(seed: 17)
        b.layer("Split", "split_in", ["data"], ["in_a", "in_b", "in_c"])
        b.convolution("in_a", "a", inChannels: 3, outChannels: 8)
        b.layer("Split", "split_a", ["a"], ["a_1", "a_2"])
        b.convolution("in_b", "b", inChannels: 3, outChannels: 8, activation: "9=1")
        b.layer("Split", "split_b", ["b"], ["b_1", "b_2"])
        b.layer("Concat", "mixed", ["in_c", "a_1", "b_1"], ["m"])
        b.layer("Concat", "pair", ["a_2", "b_2"], ["p"])
        b.convolution("m", "x", inChannels: 19, outChannels: 16)
        b.convolution("p", "y", inChannels: 16, outChannels: 16)
        b.layer("Eltwise", "sum", ["x", "y"], ["output"], "0=1")
        try compare(b.network(), input: b.random.tensor(3, 11, 13))
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

    /// The animevideov3 tail: PReLU, pixel shuffle, and a nearest-upsampled copy of the input added back.
    @Test func shuffleTail() throws {
        var b = ModelBuilder(seed: 5)
        b.layer("Split", "split_in", ["data"], ["in_a", "in_b"])
        b.convolution("in_a", "f", inChannels: 3, outChannels: 16)
        b.prelu("f", "p", channels: 16)
        b.convolution("p", "g", inChannels: 16, outChannels: 48)
        b.layer("PixelShuffle", "shuffle", ["g"], ["s"], "0=4")
        b.layer("Interp", "up", ["in_b"], ["u"], "0=1 1=4.000000e+00 2=4.000000e+00")
        b.layer("BinaryOp", "add", ["s", "u"], ["output"], "0=0")
        try compare(b.network(), input: b.random.tensor(3, 9, 7))
    }

    @Test(arguments: [
        "0=1 1=2.000000e+00 2=2.000000e+00",
        "0=3 1=2.000000e+00 2=2.000000e+00",
        "0=3 1=5.000000e-01 2=5.000000e-01",
        "0=3 3=13 4=21",
    ])
    func interpolationOnBlockedData(_ params: String) throws {
        var b = ModelBuilder(seed: 3)
        b.convolution("data", "f", inChannels: 3, outChannels: 16)
        b.layer("Interp", "resize", ["f"], ["output"], params)
        try compare(b.network(), input: b.random.tensor(3, 10, 12))
    }

    @Test func eltwiseProductAndMaximumAndPlainInput() throws {
        var b = ModelBuilder(seed: 9)
        b.layer("Split", "split_in", ["data"], ["a", "b", "c"])
        b.layer("Eltwise", "prod", ["a", "b"], ["p"], "0=0")
        b.layer("Eltwise", "max", ["p", "c"], ["m"], "0=2")
        b.layer("BinaryOp", "scale", ["m"], ["output"], "0=2 1=1 2=3.000000e+00")
        try compare(b.network(), input: b.random.tensor(3, 6, 5))
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
    }
}
