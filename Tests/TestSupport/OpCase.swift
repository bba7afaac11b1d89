public import Inference

/// One small network and input that exercises an op (or a fusion the planner makes), run by every backend's suite
/// against the plain Swift reference kernels. Sizes and channel counts are deliberately odd.
public struct OpCase: Sendable, CustomStringConvertible {
    public let description: String
    private let make: @Sendable () throws -> (Network, Tensor)

    public init(_ description: String, _ make: @escaping @Sendable () throws -> (Network, Tensor)) {
        self.description = description
        self.make = make
    }

    /// The network and its seeded input.
    public func build() throws -> (network: Network, input: Tensor) { try make() }

    static let leaky = "9=2 -23310=1,2.000000e-01"

    /// A convolution case; layers that do not read RGB get a 1x1 lift to `inChannels` first, so the layer under test
    /// reads engine-made storage rather than the caller's plain input.
    static func convolution(
        _ inChannels: Int, _ outChannels: Int, kernel: Int = 3, stride: Int = 1, pad: Int = 1,
        height: Int, width: Int, activation: String = ""
    ) -> OpCase {
        OpCase("conv \(inChannels)->\(outChannels) k\(kernel) s\(stride) p\(pad) \(height)x\(width) \(activation)") {
            var b = ModelBuilder(seed: 7)
            if inChannels == 3 {
                b.convolution(
                    "data", "output", inChannels: 3, outChannels: outChannels, kernel: kernel, stride: stride,
                    pad: pad, activation: activation)
            } else {
                b.convolution("data", "lifted", inChannels: 3, outChannels: inChannels, kernel: 1, pad: 0)
                b.convolution(
                    "lifted", "output", inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                    stride: stride, pad: pad, activation: activation)
            }
            return (try b.network(), b.random.tensor(3, height, width))
        }
    }

    /// Every case, each op on its own and in the combinations the shipped models use.
    public static let all: [OpCase] = [
        convolution(3, 64, height: 13, width: 13),
        convolution(64, 32, height: 17, width: 17, activation: leaky),
        convolution(32, 3, height: 16, width: 16),
        convolution(16, 48, height: 9, width: 9, activation: "9=1"),
        convolution(20, 24, kernel: 1, pad: 0, height: 11, width: 11),
        convolution(16, 16, stride: 2, height: 15, width: 15, activation: "9=2 -23310=1,1.000000e-01"),
        convolution(5, 7, kernel: 5, pad: 2, height: 10, width: 10),
        convolution(13, 70, height: 23, width: 29, activation: leaky),
        convolution(96, 17, height: 7, width: 71),

        OpCase("dense block with a fused residual") {
            // As in RRDB: growing concats, leaky convolutions, and a scaled residual sum fused into the last one.
            var b = ModelBuilder(seed: 11)
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
            return (try b.network(), b.random.tensor(3, 14, 19))
        },
        OpCase("concat slots off the 16-channel grid") {
            // The plain RGB input at 0, then 8 channels at 3 and 8 at 11, and an aligned 8 + misaligned 8 pair.
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
            return (try b.network(), b.random.tensor(3, 11, 13))
        },
        OpCase("wide convolutions with a fused residual") {
            var b = ModelBuilder(seed: 13)
            b.convolution("data", "x", inChannels: 3, outChannels: 64)
            b.layer("Split", "split_x", ["x"], ["x_a", "x_b"])
            b.convolution("x_a", "y", inChannels: 64, outChannels: 96, activation: leaky)
            b.convolution("y", "z", inChannels: 96, outChannels: 64)
            b.layer("Eltwise", "residual", ["z", "x_b"], ["output"], "0=1 -23301=2,2.000000e-01,1.000000e+00")
            return (try b.network(), b.random.tensor(3, 15, 18))
        },
        OpCase("animevideov3 tail: PReLU, pixel shuffle, nearest upsampling, add") {
            var b = ModelBuilder(seed: 5)
            b.layer("Split", "split_in", ["data"], ["in_a", "in_b"])
            b.convolution("in_a", "f", inChannels: 3, outChannels: 16)
            b.prelu("f", "p", channels: 16)
            b.convolution("p", "g", inChannels: 16, outChannels: 48)
            b.layer("PixelShuffle", "shuffle", ["g"], ["s"], "0=4")
            b.layer("Interp", "up", ["in_b"], ["u"], "0=1 1=4.000000e+00 2=4.000000e+00")
            b.layer("BinaryOp", "add", ["s", "u"], ["output"], "0=0")
            return (try b.network(), b.random.tensor(3, 9, 7))
        },
        OpCase("PReLU with one shared slope, pixel shuffle by 2") {
            var b = ModelBuilder(seed: 21)
            b.convolution("data", "f", inChannels: 3, outChannels: 12)
            b.prelu("f", "p", channels: 1)
            b.layer("PixelShuffle", "shuffle", ["p"], ["output"], "0=2")
            return (try b.network(), b.random.tensor(3, 5, 11))
        },
        OpCase("pixel unshuffle by 2 of the plain input, as an RRDBNet at 2x starts") {
            var b = ModelBuilder(seed: 27)
            b.layer("Reorg", "unshuffle", ["data"], ["u"], "0=2")
            b.convolution("u", "output", inChannels: 12, outChannels: 16, activation: leaky)
            return (try b.network(), b.random.tensor(3, 10, 14))
        },
        OpCase("pixel unshuffle by 4 of engine-made storage") {
            var b = ModelBuilder(seed: 29)
            b.convolution("data", "f", inChannels: 3, outChannels: 5)
            b.layer("Reorg", "unshuffle", ["f"], ["u"], "0=4")
            b.convolution("u", "output", inChannels: 80, outChannels: 7)
            return (try b.network(), b.random.tensor(3, 12, 8))
        },
        interpolation("0=1 1=2.000000e+00 2=2.000000e+00"),
        interpolation("0=3 1=2.000000e+00 2=2.000000e+00"),
        interpolation("0=3 1=5.000000e-01 2=5.000000e-01"),
        interpolation("0=3 3=13 4=21"),
        OpCase("eltwise product and maximum, scalar multiply, on the plain input") {
            var b = ModelBuilder(seed: 9)
            b.layer("Split", "split_in", ["data"], ["a", "b", "c"])
            b.layer("Eltwise", "prod", ["a", "b"], ["p"], "0=0")
            b.layer("Eltwise", "max", ["p", "c"], ["m"], "0=2")
            b.layer("BinaryOp", "scale", ["m"], ["output"], "0=2 1=1 2=3.000000e+00")
            return (try b.network(), b.random.tensor(3, 6, 5))
        },
        OpCase("three-input sum with coefficients, scalar add and subtract, tensor subtract") {
            var b = ModelBuilder(seed: 23)
            b.convolution("data", "f", inChannels: 3, outChannels: 5)
            b.layer("Split", "split_f", ["f"], ["f1", "f2", "f3", "f4"])
            b.layer(
                "Eltwise", "sum3", ["f1", "f2", "f3"], ["s"], "0=1 -23301=3,5.000000e-01,-1.000000e+00,2.000000e+00")
            b.layer("BinaryOp", "plus", ["s"], ["s1"], "0=0 1=1 2=2.500000e-01")
            b.layer("BinaryOp", "minus", ["s1"], ["s2"], "0=1 1=1 2=7.500000e-01")
            b.layer("BinaryOp", "sub", ["s2", "f4"], ["output"], "0=1")
            return (try b.network(), b.random.tensor(3, 8, 9))
        },
    ]

    static func interpolation(_ params: String) -> OpCase {
        OpCase("Interp \(params) on engine-made storage") {
            var b = ModelBuilder(seed: 3)
            b.convolution("data", "f", inChannels: 3, outChannels: 16)
            b.layer("Interp", "resize", ["f"], ["output"], params)
            return (try b.network(), b.random.tensor(3, 10, 12))
        }
    }
}
