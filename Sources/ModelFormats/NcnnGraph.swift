/// Writes a network as an ncnn `.param` text and `.bin` weights: the form every engine here reads, so a model
/// imported from a PyTorch or safetensors file is planned and run exactly as a shipped ncnn model is, and is
/// checked by the same reader when it is loaded.
struct NcnnGraph {
    private var lines: [String] = []
    private(set) var weights: [UInt8] = []
    private var blobs = 0

    /// The param text, once the last layer is added.
    var paramText: String {
        "7767517\n\(lines.count) \(blobs)\n" + lines.joined(separator: "\n") + "\n"
    }

    private mutating func blob(_ name: String?) -> String {
        blobs += 1
        return name ?? "b\(blobs)"
    }

    private mutating func layer(
        _ type: String, _ inputs: [String], output: String?, _ params: String = ""
    ) -> String {
        let out = blob(output)
        let line =
            "\(type) \(type.lowercased())\(lines.count) \(inputs.count) 1 "
            + (inputs + [out]).joined(separator: " ") + (params.isEmpty ? "" : " " + params)
        lines.append(line)
        return out
    }

    private mutating func append(_ values: [Float]) {
        weights.reserveCapacity(weights.count + 4 * values.count)
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { weights += $0 }
        }
    }

    /// The image input, blob `data`.
    mutating func input() -> String {
        blobs += 1
        lines.append("Input input 0 1 data")
        return "data"
    }

    /// A 3x3 (or other square, odd) convolution with 'same' padding, stride 1, bias, and an optional leaky ReLU.
    mutating func convolution(
        _ input: String, weight: WeightTensor, bias: WeightTensor, leakySlope: Float? = nil, output: String? = nil
    ) -> String {
        let (out, kernel) = (weight.shape[0], weight.shape[3])
        var params = "0=\(out) 1=\(kernel) 4=\(kernel / 2) 5=1 6=\(weight.values.count)"
        if let leakySlope { params += " 9=2 -23310=1,\(leakySlope)" }
        let name = layer("Convolution", [input], output: output, params)
        append([0])  // the fp32 tag
        append(weight.values)
        append(bias.values)
        return name
    }

    mutating func prelu(_ input: String, slopes: WeightTensor) -> String {
        let name = layer("PReLU", [input], output: nil, "0=\(slopes.values.count)")
        append(slopes.values)
        return name
    }

    mutating func concat(_ inputs: [String]) -> String { layer("Concat", inputs, output: nil) }

    /// `a * ca + b * cb`.
    mutating func sum(_ a: String, _ b: String, coefficients: (Float, Float) = (1, 1), output: String? = nil)
        -> String
    {
        layer("Eltwise", [a, b], output: output, "0=1 -23301=2,\(coefficients.0),\(coefficients.1)")
    }

    mutating func nearest(_ input: String, scale: Int) -> String {
        layer("Interp", [input], output: nil, "0=1 1=\(Float(scale)) 2=\(Float(scale))")
    }

    mutating func pixelShuffle(_ input: String, factor: Int) -> String {
        layer("PixelShuffle", [input], output: nil, "0=\(factor)")
    }

    /// PyTorch's pixel unshuffle: ncnn's `Reorg` in mode 0.
    mutating func pixelUnshuffle(_ input: String, factor: Int) -> String {
        layer("Reorg", [input], output: nil, "0=\(factor)")
    }
}
