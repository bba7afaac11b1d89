import Inference
import TestSupport
import Testing

/// Which storages the planner keeps plain (`Planner.plainBlobs`): small tensors only element-wise ops, interpolation
/// and pixel shuffle touch. The values are checked by the op cases against the reference kernels (EngineVersusReference
/// and the GPU suite run the same cases); this checks the layout decision they run under.
@Suite("Plain storages")
struct PlainStorageTests {
    static func plan(_ description: String) throws -> LogicalPlan {
        let c = try #require(OpCase.all.first { $0.description == description })
        let (network, input) = try c.build()
        return try Planner.plan(
            network, input: Shape(channels: input.channels, height: input.height, width: input.width))
    }

    /// animevideov3's tail: the pixel shuffle to 3 channels, the upsampled input and their sum are plain; the layers
    /// a convolution or PReLU touches are blocked.
    @Test func animevideov3TailIsPlain() throws {
        let plan = try Self.plan("animevideov3 tail: PReLU, pixel shuffle, nearest upsampling, add")
        var plainOutputs: [String] = []
        var blockedOutputs: [String] = []
        for step in plan.steps {
            let kind: String
            switch step {
            case .convolution: kind = "convolution"
            case .prelu: kind = "prelu"
            case .pixelShuffle: kind = "pixelShuffle"
            case .interpolation: kind = "interpolation"
            case .binary: kind = "binary"
            default: kind = "other"
            }
            if plan.storages[step.output.storage].plain {
                plainOutputs.append(kind)
            } else {
                blockedOutputs.append(kind)
            }
        }
        #expect(plainOutputs == ["pixelShuffle", "interpolation", "binary"])
        #expect(blockedOutputs == ["convolution", "prelu", "convolution"])
        #expect(plan.storages[plan.outputView.storage].plain)
        #expect(plan.storages[plan.inputView.storage].plain)
    }

    /// A small tensor a convolution reads stays blocked, even when an element-wise op made it.
    @Test func whatAConvolutionReadsStaysBlocked() throws {
        var b = ModelBuilder(seed: 31)
        b.layer("Split", "split_in", ["data"], ["a", "b"])
        b.layer("Eltwise", "sum", ["a", "b"], ["s"], "0=1")
        b.convolution("s", "output", inChannels: 3, outChannels: 16)
        let plan = try Planner.plan(b.network(), input: Shape(channels: 3, height: 8, width: 8))
        guard case .eltwise(_, let sum, _) = plan.steps.first else {
            Issue.record("the first step is not the sum: \(plan.steps)")
            return
        }
        #expect(!plan.storages[sum.storage].plain)
    }
}
