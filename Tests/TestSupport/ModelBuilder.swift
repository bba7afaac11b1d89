public import Inference

/// Builds small ncnn models in memory: param text plus matching weight bytes.
public struct ModelBuilder: Sendable {
    private var lines: [String] = ["Input input 0 1 data"]
    private var blobs: Set<String> = ["data"]
    public private(set) var weights: [UInt8] = []
    public var random: SeededRandom

    public init(seed: UInt64) { random = SeededRandom(seed: seed) }

    private mutating func append(_ floats: [Float], tagged: Bool) {
        if tagged { weights += [0, 0, 0, 0] }
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { weights += $0 } }
    }

    public mutating func layer(
        _ type: String, _ name: String, _ inputs: [String], _ outputs: [String], _ params: String = ""
    ) {
        lines.append(
            "\(type) \(name) \(inputs.count) \(outputs.count) \((inputs + outputs).joined(separator: " ")) \(params)")
        blobs.formUnion(outputs)
    }

    /// A convolution with random weights scaled like a trained layer (about 1/sqrt(fan-in)).
    public mutating func convolution(
        _ input: String, _ output: String, inChannels: Int, outChannels: Int, kernel: Int = 3,
        stride: Int = 1, pad: Int = 1, activation: String = ""
    ) {
        let count = outChannels * inChannels * kernel * kernel
        let spread = 1 / Float(inChannels * kernel * kernel).squareRoot()
        layer(
            "Convolution", "conv_\(output)", [input], [output],
            "0=\(outChannels) 1=\(kernel) 3=\(stride) 4=\(pad) 5=1 6=\(count) \(activation)")
        append((0..<count).map { _ in random.float(-spread, spread) }, tagged: true)
        append((0..<outChannels).map { _ in random.float(-0.1, 0.1) }, tagged: false)
    }

    public mutating func prelu(_ input: String, _ output: String, channels: Int) {
        layer("PReLU", "prelu_\(output)", [input], [output], "0=\(channels)")
        append((0..<channels).map { _ in random.float(0, 0.5) }, tagged: false)
    }

    public func network() throws -> Network {
        let text = (["7767517", "\(lines.count) \(blobs.count)"] + lines).joined(separator: "\n")
        return try Network(paramText: text, weights: weights)
    }
}
