import Foundation
import TestSupport
import Testing

@testable import Inference

@Suite("ncnn model reader")
struct ModelReaderTests {
    func parse(_ text: String, _ weights: [UInt8] = []) throws -> Network {
        try Network(paramText: text, weights: weights)
    }

    func expectError(
        _ code: InferenceError.Code, containing fragment: String, _ body: () throws -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            try body()
            Issue.record("expected an error containing '\(fragment)'", sourceLocation: sourceLocation)
        } catch let error as InferenceError {
            #expect(error.code == code, sourceLocation: sourceLocation)
            #expect(error.message.contains(fragment), "message: \(error.message)", sourceLocation: sourceLocation)
            #expect(!error.message.contains("\n"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func readsParametersArraysAndFP16Weights() throws {
        // One 1x1 convolution 2->1 with fp16 weights 1.5 and -2 (0x3E00, 0xC000), fp32 bias 0.25, leaky slope 0.2.
        let text = """
            7767517
            2 2
            Input            input   0 1 data
            Convolution      conv    1 1 data output 0=1 1=1 5=1 6=2 9=2 -23310=1,2.000000e-01
            """
        let weights: [UInt8] =
            [0x47, 0x6B, 0x30, 0x01, 0x00, 0x3E, 0x00, 0xC0] + withUnsafeBytes(of: Float(0.25)) { Array($0) }
        let network = try parse(text, weights)
        guard case .convolution(let conv) = network.layers[1].operation else {
            Issue.record("not a convolution"); return
        }
        #expect(conv.weights == [1.5, -2])
        #expect(conv.bias == [0.25])
        #expect(conv.activation == .leakyReLU(slope: 0.2))
        #expect(conv.inChannels == 2)
        // Known answer: 1.5*1 - 2*3 + 0.25 = -4.25, leaky -> -0.85.
        let out = try ReferenceKernels.run(network, input: Tensor(channels: 2, height: 1, width: 1, data: [1, 3]))
        #expect(abs(out.data[0] + 0.85) < 1e-6)
    }

    @Test func halfPrecisionConversion() {
        #expect(floatFromHalf(0x3C00) == 1)
        #expect(floatFromHalf(0xC000) == -2)
        #expect(floatFromHalf(0x7BFF) == 65504)
        #expect(floatFromHalf(0x0001) == Float(5.960464477539063e-08))
        #expect(floatFromHalf(0x7C00) == .infinity)
        #expect(floatFromHalf(0x7E00).isNaN)
    }

    @Test func rejectsWrongMagic() {
        expectError(.malformedModel, containing: "7767517") { _ = try parse("1234\n1 1\nInput in 0 1 data\n") }
    }

    @Test func rejectsUnknownOperation() {
        expectError(.unsupportedOperation, containing: "Softmax") {
            _ = try parse("7767517\n2 2\nInput in 0 1 data\nSoftmax sm 1 1 data output\n")
        }
    }

    @Test func rejectsUnsupportedActivation() {
        expectError(.unsupportedOperation, containing: "activation type 5") {
            _ = try parse(
                "7767517\n2 2\nInput in 0 1 data\nConvolution c 1 1 data output 0=1 1=1 6=1 9=5\n",
                [0, 0, 0, 0, 0, 0, 128, 63])
        }
    }

    @Test func rejectsShortWeightFile() {
        expectError(.malformedModel, containing: "ends early") {
            _ = try parse(
                "7767517\n2 2\nInput in 0 1 data\nConvolution c 1 1 data output 0=4 1=3 6=108\n", [0, 0, 0, 0, 1, 2])
        }
    }

    @Test func rejectsExtraWeightBytes() {
        expectError(.malformedModel, containing: "more than") {
            _ = try parse("7767517\n1 1\nInput in 0 1 data\n", [1, 2, 3, 4])
        }
    }

    @Test func rejectsLayerCountMismatchAndBadLines() {
        expectError(.malformedModel, containing: "declares 3 layers") {
            _ = try parse("7767517\n3 1\nInput in 0 1 data\n")
        }
        expectError(.malformedModel, containing: "malformed layer line") {
            _ = try parse("7767517\n2 2\nInput in 0 1 data\nSplit s 1\n")
        }
        expectError(.malformedModel, containing: "before any layer writes it") {
            _ = try parse("7767517\n2 2\nInput in 0 1 data\nSplit s 1 1 nothing out\n")
        }
        expectError(.malformedModel, containing: "wrong count") {
            _ = try parse("7767517\n2 2\nInput in 0 1 data\nConvolution c 1 1 data out 0=1 1=1 6=1 -23310=3,1.0\n")
        }
    }

    /// Hostile or broken parameter values are errors, not traps.
    @Test func rejectsImpossibleGeometryAndCounts() {
        let head = "7767517\n2 2\nInput in 0 1 data\n"
        expectError(.malformedModel, containing: "stride and dilation") {
            _ = try parse(
                head + "Convolution c 1 1 data output 0=1 1=1 3=0 6=3\n",
                [0, 0, 0, 0] + [UInt8](repeating: 0, count: 12))
        }
        expectError(.malformedModel, containing: "has 0 inputs") {
            _ = try parse(head + "Concat c 0 1 output\n")
        }
        expectError(.malformedModel, containing: "0 inputs") {
            _ = try parse(head + "Split s 0 1 output\n")
        }
        expectError(.unsupportedOperation, containing: "more than one Input") {
            _ = try parse("7767517\n2 2\nInput in 0 1 data\nInput in2 0 1 other\n")
        }
        // A weight count far beyond the file (and beyond Int when multiplied by 4) reads as a short file.
        expectError(.malformedModel, containing: "ends early") {
            _ = try parse(
                head + "Convolution c 1 1 data output 0=1 1=1 6=4611686018427387904\n", [0, 0, 0, 0, 1, 2, 3, 4])
        }
        // 1e30 as an integer parameter falls back to the default instead of trapping in Int(_:).
        expectError(.malformedModel, containing: "inconsistent convolution sizes") {
            _ = try parse(head + "Convolution c 1 1 data output 0=1.0e30 1=1 6=3\n")
        }
    }

    @Test func shapeMismatchIsAnError() throws {
        var b = ModelBuilder(seed: 1)
        b.convolution("data", "a", inChannels: 3, outChannels: 16)
        b.convolution("data", "b", inChannels: 3, outChannels: 8)
        b.layer("Eltwise", "sum", ["a", "b"], ["output"], "0=1")
        let network = try b.network()
        expectError(.shapeMismatch, containing: "differ in shape") {
            _ = try network.shapes(for: Shape(channels: 3, height: 4, width: 4))
        }
    }

    @Test func shippedModelsParseWithTheirScale() throws {
        for (name, layers) in [
            ("realesrgan-x4plus", 999), ("realesrgan-x4plus-anime", 268), ("realesr-animevideov3", 40),
        ] {
            guard let files = installedModel(name) else {
                Issue.record("model \(name) is not installed; run scripts/setup.sh"); continue
            }
            let network = try Network(paramFile: files.param, binFile: files.bin)
            #expect(network.layers.count == layers)
            #expect(try network.scaleFactor() == 4)
            #expect(network.inputBlob == "data" && network.outputBlob == "output")
        }
    }

    /// ncnn's `Reorg` (mode 0) is PyTorch's pixel unshuffle: on a known 1x2x4 input, each 2x2 phase becomes a channel,
    /// in the order c*r*r + i*r + j; the pixel shuffle undoes it; the input must be a multiple of the factor.
    @Test func pixelUnshuffleIsTheShufflesInverse() throws {
        let network = try parse(
            "7767517\n2 2\nInput input 0 1 data\nReorg unshuffle 1 1 data output 0=2\n")
        guard case .pixelShuffle(let op) = network.layers[1].operation else {
            Issue.record("Reorg did not parse as a pixel unshuffle")
            return
        }
        #expect(op.inverse && op.factor == 2 && network.inputAlignment == 2)
        let x = Tensor(channels: 1, height: 2, width: 4, data: [1, 2, 3, 4, 5, 6, 7, 8])
        let y = ReferenceKernels.pixelShuffle(x, op)
        #expect(y.channels == 4 && y.height == 1 && y.width == 2)
        #expect(y.data == [1, 3, 2, 4, 5, 7, 6, 8])
        var random = SeededRandom(seed: 4)
        let z = random.tensor(3, 8, 12)
        let back = ReferenceKernels.pixelShuffle(ReferenceKernels.pixelShuffle(z, op), PixelShuffle(factor: 2))
        #expect(back.data == z.data)
        expectError(.shapeMismatch, containing: "multiples of 2") {
            _ = try network.shapes(for: Shape(channels: 1, height: 3, width: 4))
        }
        expectError(.unsupportedOperation, containing: "reorg mode") {
            _ = try parse("7767517\n2 2\nInput input 0 1 data\nReorg unshuffle 1 1 data output 0=2 1=1\n")
        }
    }

    /// Network interpolation (`--denoise`): weight 1 is the first network's weights, 0 the second's, 0.25 the weighted
    /// sum of each; networks that differ in shape or wiring are refused.
    @Test func interpolationBlendsWeightsOfTheSameNetwork() throws {
        func network(seed: UInt64, channels: Int = 8) throws -> Network {
            var b = ModelBuilder(seed: seed)
            b.convolution("data", "f", inChannels: 3, outChannels: channels)
            b.prelu("f", "output", channels: channels)
            return try b.network()
        }
        func weights(_ n: Network) -> [Float] {
            n.layers.flatMap { layer -> [Float] in
                switch layer.operation {
                case .convolution(let c): c.weights + c.bias
                case .prelu(let p): p.slopes
                default: []
                }
            }
        }
        let a = try network(seed: 1), b = try network(seed: 2)
        #expect(weights(try a.interpolated(with: b, weight: 1)) == weights(a))
        #expect(weights(try a.interpolated(with: b, weight: 0)) == weights(b))
        let quarter = weights(try a.interpolated(with: b, weight: 0.25))
        let expected = zip(weights(a), weights(b)).map { 0.25 * $0 + 0.75 * $1 }
        #expect(zip(quarter, expected).allSatisfy { abs($0 - $1) <= 1e-6 })
        expectError(.malformedModel, containing: "cannot be blended") {
            _ = try a.interpolated(with: try network(seed: 3, channels: 4), weight: 0.5)
        }
    }
}
