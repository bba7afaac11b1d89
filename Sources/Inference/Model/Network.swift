public import Foundation

/// A network read from an ncnn `.param` / `.bin` pair, with its weights as fp32.
///
/// Layers are kept in file order, which ncnn guarantees is a topological order.
public struct Network: Sendable {
    public var layers: [Layer]
    /// The blob the image goes into (ncnn's `Input` layer output, `data` in Real-ESRGAN models).
    public var inputBlob: String
    /// The blob the result comes out of: the one named `output`, else the last layer's first output.
    public var outputBlob: String

    /// Reads a model from its two files.
    public init(paramFile: URL, binFile: URL) throws {
        let paramText: String
        let weights: [UInt8]
        do {
            paramText = try String(contentsOf: paramFile, encoding: .utf8)
        } catch {
            throw InferenceError(.malformedModel, "cannot read model file \(paramFile.path)", detail: "\(error)")
        }
        do {
            weights = try [UInt8](Data(contentsOf: binFile))
        } catch {
            throw InferenceError(.malformedModel, "cannot read model file \(binFile.path)", detail: "\(error)")
        }
        try self.init(
            paramText: paramText, weights: weights,
            paramName: paramFile.path, binName: binFile.path)
    }

    /// Parses a `.param` text and its `.bin` bytes.
    public init(
        paramText: String, weights: [UInt8], paramName: String = "model.param",
        binName: String = "model.bin"
    ) throws {
        var lines = paramText.split(whereSeparator: \.isNewline).makeIterator()
        guard let magic = lines.next(), magic.trimmingCharacters(in: .whitespaces) == "7767517" else {
            throw InferenceError(.malformedModel, "\(paramName) is not an ncnn param file (no 7767517 magic)")
        }
        guard let counts = lines.next()?.split(separator: " ", omittingEmptySubsequences: true),
            counts.count == 2, let layerCount = Int(counts[0]), let blobCount = Int(counts[1]),
            layerCount > 0, blobCount > 0
        else {
            throw InferenceError(.malformedModel, "\(paramName): second line must be '<layer count> <blob count>'")
        }
        var reader = WeightReader(bytes: weights, fileName: binName)
        var layers: [Layer] = []
        var produced = Set<String>()
        while let line = lines.next() {
            let tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if tokens.isEmpty { continue }
            guard tokens.count >= 4, let inCount = Int(tokens[2]), let outCount = Int(tokens[3]),
                inCount >= 0, outCount >= 0, tokens.count >= 4 + inCount + outCount
            else {
                throw InferenceError(.malformedModel, "\(paramName): malformed layer line '\(line.prefix(80))'")
            }
            let type = String(tokens[0])
            let name = String(tokens[1])
            guard (type == "Input") == (inCount == 0), type == "Input" || outCount >= 1 else {
                throw InferenceError(
                    .malformedModel,
                    "\(paramName): layer \(name) (\(type)) has \(inCount) inputs and \(outCount) outputs")
            }
            guard type != "Input" || layers.allSatisfy({ $0.type != "Input" }) else {
                throw InferenceError(.unsupportedOperation, "\(paramName): more than one Input layer")
            }
            let inputs = tokens[4..<(4 + inCount)].map(String.init)
            let outputs = tokens[(4 + inCount)..<(4 + inCount + outCount)].map(String.init)
            for blob in inputs where !produced.contains(blob) {
                throw InferenceError(
                    .malformedModel, "\(paramName): layer \(name) reads blob \(blob) before any layer writes it")
            }
            produced.formUnion(outputs)
            let params = try ParamDictionary(tokens: tokens[(4 + inCount + outCount)...], layer: name)
            let operation = try Self.operation(
                type: type, name: name, inputCount: inCount, outputCount: outCount,
                params: params, weights: &reader)
            layers.append(Layer(type: type, name: name, inputs: inputs, outputs: outputs, operation: operation))
        }
        guard layers.count == layerCount else {
            throw InferenceError(.malformedModel, "\(paramName) declares \(layerCount) layers but has \(layers.count)")
        }
        guard reader.isAtEnd else {
            throw InferenceError(
                .malformedModel, "\(binName) has \(reader.remaining) bytes more than \(paramName) uses")
        }
        guard let input = layers.first(where: { if case .input = $0.operation { true } else { false } })?.outputs.first
        else {
            throw InferenceError(.malformedModel, "\(paramName) has no Input layer")
        }
        self.layers = layers
        self.inputBlob = input
        self.outputBlob = produced.contains("output") ? "output" : (layers.last?.outputs.first ?? input)
    }

    private static func operation(
        type: String, name: String, inputCount: Int, outputCount: Int,
        params: ParamDictionary, weights: inout WeightReader
    ) throws -> Operation {
        func unsupported(_ what: String) -> InferenceError {
            InferenceError(.unsupportedOperation, "layer \(name) (\(type)): unsupported \(what)")
        }
        func requireInputs(_ n: Int) throws {
            guard inputCount == n else {
                throw InferenceError(.malformedModel, "layer \(name) (\(type)) needs \(n) input(s), has \(inputCount)")
            }
        }
        switch type {
        case "Input":
            return .input
        case "Split":
            try requireInputs(1)
            return .split
        case "Concat":
            guard inputCount >= 1 else { throw InferenceError(.malformedModel, "layer \(name): Concat needs inputs") }
            guard params.int(0, default: 0) == 0 else { throw unsupported("concat axis") }
            return .concat
        case "Convolution":
            try requireInputs(1)
            let out = params.int(0, default: 0)
            let kw = params.int(1, default: 0)
            let kh = params.int(11, default: kw)
            let weightCount = params.int(6, default: 0)
            guard out > 0, kw > 0, kh > 0, weightCount > 0, weightCount % (out * kw * kh) == 0 else {
                throw InferenceError(.malformedModel, "layer \(name): inconsistent convolution sizes")
            }
            let padLeft = params.int(4, default: 0)
            guard padLeft >= 0 else { throw unsupported("automatic ('same') padding") }
            guard params.int(8, default: 0) == 0 else { throw unsupported("int8 quantisation") }
            guard params.int(19, default: 0) == 0 else { throw unsupported("dynamic weights") }
            let activation: Activation
            switch params.int(9, default: 0) {
            case 0: activation = .none
            case 1: activation = .relu
            case 2: activation = .leakyReLU(slope: params.array(10).first ?? 0)
            case let other: throw unsupported("activation type \(other)")
            }
            let padTop = params.int(14, default: padLeft)
            let geometry = [
                params.int(3, default: 1), params.int(13, default: params.int(3, default: 1)),
                params.int(2, default: 1), params.int(12, default: params.int(2, default: 1)),
            ]
            guard geometry.allSatisfy({ $0 >= 1 }), kw <= 64, kh <= 64,
                [padTop, params.int(15, default: padLeft), params.int(16, default: padTop)].allSatisfy({
                    $0 >= 0 && $0 <= 64
                })
            else {
                throw InferenceError(
                    .malformedModel,
                    "layer \(name): stride and dilation must be at least 1, kernel and padding at most 64")
            }
            let w = try weights.readTagged(weightCount, "weights of \(name)")
            let b = params.int(5, default: 0) != 0 ? try weights.readRaw(out, "bias of \(name)") : []
            return .convolution(
                Convolution(
                    outChannels: out, inChannels: weightCount / (out * kw * kh),
                    kernelHeight: kh, kernelWidth: kw,
                    strideHeight: params.int(13, default: params.int(3, default: 1)),
                    strideWidth: params.int(3, default: 1),
                    dilationHeight: params.int(12, default: params.int(2, default: 1)),
                    dilationWidth: params.int(2, default: 1),
                    padTop: padTop, padLeft: padLeft,
                    padBottom: params.int(16, default: padTop), padRight: params.int(15, default: padLeft),
                    activation: activation, weights: w, bias: b))
        case "Eltwise":
            guard inputCount >= 2 else { throw unsupported("eltwise with \(inputCount) input") }
            let kind: Eltwise.Kind
            switch params.int(0, default: 1) {
            case 0: kind = .product
            case 1: kind = .sum
            case 2: kind = .maximum
            case let other: throw unsupported("eltwise op \(other)")
            }
            let coefficients = params.array(1)
            guard coefficients.isEmpty || coefficients.count == inputCount else {
                throw InferenceError(
                    .malformedModel, "layer \(name): \(coefficients.count) coefficients for \(inputCount) inputs")
            }
            return .eltwise(Eltwise(kind: kind, coefficients: coefficients))
        case "BinaryOp":
            let kind: BinaryOperation.Kind
            switch params.int(0, default: 0) {
            case 0: kind = .add
            case 1: kind = .subtract
            case 2: kind = .multiply
            case let other: throw unsupported("binary op type \(other)")
            }
            let withScalar = params.int(1, default: 0) != 0
            try requireInputs(withScalar ? 1 : 2)
            return .binary(BinaryOperation(kind: kind, scalar: withScalar ? params.float(2, default: 0) : nil))
        case "Interp":
            try requireInputs(1)
            let kind: Interpolation.Kind
            switch params.int(0, default: 0) {
            case 1: kind = .nearest
            case 3: kind = .bicubic
            case let other: throw unsupported("interpolation type \(other)")
            }
            guard params.int(5, default: 0) == 0 else { throw unsupported("dynamic target size") }
            let interp = Interpolation(
                kind: kind, heightScale: params.float(1, default: 1),
                widthScale: params.float(2, default: 1),
                outputHeight: params.int(3, default: 0), outputWidth: params.int(4, default: 0),
                alignCorners: params.int(6, default: 0) != 0)
            guard interp.heightScale > 0, interp.widthScale > 0, interp.heightScale <= 16, interp.widthScale <= 16,
                interp.outputHeight >= 0, interp.outputWidth >= 0
            else {
                throw InferenceError(.malformedModel, "layer \(name): interpolation scale must be positive")
            }
            return .interpolation(interp)
        case "PReLU":
            try requireInputs(1)
            let count = params.int(0, default: 0)
            guard count > 0 else { throw InferenceError(.malformedModel, "layer \(name): PReLU needs a slope count") }
            return .prelu(PReLU(slopes: try weights.readRaw(count, "slopes of \(name)")))
        case "PixelShuffle":
            try requireInputs(1)
            let factor = params.int(0, default: 1)
            guard factor >= 1, factor <= 16 else {
                throw InferenceError(.malformedModel, "layer \(name): bad upscale factor")
            }
            guard params.int(1, default: 0) == 0 else { throw unsupported("pixel shuffle mode") }
            return .pixelShuffle(PixelShuffle(factor: factor))
        case "Reorg":
            try requireInputs(1)
            let factor = params.int(0, default: 1)
            guard factor >= 1, factor <= 16 else {
                throw InferenceError(.malformedModel, "layer \(name): bad reorg stride")
            }
            guard params.int(1, default: 0) == 0 else { throw unsupported("reorg mode (only PyTorch's order, 0)") }
            return .pixelShuffle(PixelShuffle(factor: factor, inverse: true))
        default:
            throw InferenceError(.unsupportedOperation, "layer \(name): unsupported operation '\(type)'")
        }
    }

    /// The shape of every blob for a given input shape, checking that the graph is consistent.
    public func shapes(for input: Shape) throws -> [String: Shape] {
        var shapes: [String: Shape] = [inputBlob: input]
        for layer in layers {
            let ins = layer.inputs.map { shapes[$0]! }
            func fail(_ why: String) -> InferenceError {
                InferenceError(.shapeMismatch, "layer \(layer.name): \(why) (inputs \(ins.map(\.description)))")
            }
            let out: Shape
            switch layer.operation {
            case .input:
                continue
            case .split:
                out = ins[0]
            case .concat:
                guard ins.allSatisfy({ $0.height == ins[0].height && $0.width == ins[0].width }) else {
                    throw fail("concat inputs differ in size")
                }
                out = Shape(channels: ins.reduce(0) { $0 + $1.channels }, height: ins[0].height, width: ins[0].width)
            case .convolution(let conv):
                guard ins[0].channels == conv.inChannels else {
                    throw fail("expects \(conv.inChannels) channels")
                }
                let size = conv.outputSize(height: ins[0].height, width: ins[0].width)
                guard size.height > 0, size.width > 0 else { throw fail("input smaller than the kernel") }
                out = Shape(channels: conv.outChannels, height: size.height, width: size.width)
            case .eltwise, .binary:
                guard ins.allSatisfy({ $0 == ins[0] }) else { throw fail("inputs differ in shape") }
                out = ins[0]
            case .interpolation(let interp):
                let size = interp.outputSize(height: ins[0].height, width: ins[0].width)
                guard size.height > 0, size.width > 0 else { throw fail("empty output") }
                out = Shape(channels: ins[0].channels, height: size.height, width: size.width)
            case .prelu(let prelu):
                guard prelu.slopes.count == 1 || prelu.slopes.count == ins[0].channels else {
                    throw fail("has \(prelu.slopes.count) slopes")
                }
                out = ins[0]
            case .pixelShuffle(let shuffle) where shuffle.inverse:
                let r = shuffle.factor
                guard ins[0].height % r == 0, ins[0].width % r == 0 else {
                    throw fail("sides not multiples of \(r)")
                }
                out = Shape(channels: ins[0].channels * r * r, height: ins[0].height / r, width: ins[0].width / r)
            case .pixelShuffle(let shuffle):
                let r2 = shuffle.factor * shuffle.factor
                guard ins[0].channels % r2 == 0 else { throw fail("channels not divisible by \(r2)") }
                out = Shape(
                    channels: ins[0].channels / r2, height: ins[0].height * shuffle.factor,
                    width: ins[0].width * shuffle.factor)
            }
            for blob in layer.outputs { shapes[blob] = out }
        }
        return shapes
    }

    /// The integer factor by which the network enlarges its input, found by shape inference.
    public func scaleFactor() throws -> Int {
        let probe = 64
        let shapes = try shapes(for: Shape(channels: inputChannels, height: probe, width: probe))
        guard let out = shapes[outputBlob], out.height % probe == 0, out.height == out.width else {
            throw InferenceError(.unsupportedOperation, "the network's output is not an integer multiple of its input")
        }
        return out.height / probe
    }

    /// What the input's sides must be multiples of: the product of the pixel unshuffles' factors (1 for most models;
    /// 2 for an RRDBNet at 2x, which unshuffles its input by 2).
    public var inputAlignment: Int {
        layers.reduce(1) { product, layer in
            if case .pixelShuffle(let op) = layer.operation, op.inverse { product * op.factor } else { product }
        }
    }

    /// Input channels, read from the first convolution that consumes the input (3 for RGB models).
    /// A pixel unshuffle before it (RRDBNet at 2x or 1x) multiplies the channels that convolution sees by r².
    public var inputChannels: Int {
        var unshuffled = 1
        for layer in layers {
            switch layer.operation {
            case .convolution(let conv): return conv.inChannels / unshuffled
            case .pixelShuffle(let op) where op.inverse: unshuffled *= op.factor * op.factor
            default: continue
            }
        }
        return 3
    }
}
