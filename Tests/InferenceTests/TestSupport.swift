import Foundation
import TestSupport
@testable import Inference

extension SeededRandom {
    /// A tensor of uniform values in [lo, hi).
    mutating func tensor(_ c: Int, _ h: Int, _ w: Int, _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
        Tensor(channels: c, height: h, width: w, data: (0..<(c * h * w)).map { _ in float(lo, hi) })
    }
}

/// Builds small ncnn models in memory: param text plus matching weight bytes.
struct ModelBuilder {
    private var lines: [String] = ["Input input 0 1 data"]
    private var blobs: Set<String> = ["data"]
    private(set) var weights: [UInt8] = []
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    private mutating func append(_ floats: [Float], tagged: Bool) {
        if tagged { weights += [0, 0, 0, 0] }
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { weights += $0 } }
    }

    mutating func layer(_ type: String, _ name: String, _ inputs: [String], _ outputs: [String], _ params: String = "") {
        lines.append("\(type) \(name) \(inputs.count) \(outputs.count) \((inputs + outputs).joined(separator: " ")) \(params)")
        blobs.formUnion(outputs)
    }

    /// A convolution with random weights scaled like a trained layer (about 1/sqrt(fan-in)).
    mutating func convolution(_ input: String, _ output: String, inChannels: Int, outChannels: Int, kernel: Int = 3,
                              stride: Int = 1, pad: Int = 1, activation: String = "") {
        let count = outChannels * inChannels * kernel * kernel
        let spread = 1 / Float(inChannels * kernel * kernel).squareRoot()
        layer("Convolution", "conv_\(output)", [input], [output],
              "0=\(outChannels) 1=\(kernel) 3=\(stride) 4=\(pad) 5=1 6=\(count) \(activation)")
        append((0..<count).map { _ in random.float(-spread, spread) }, tagged: true)
        append((0..<outChannels).map { _ in random.float(-0.1, 0.1) }, tagged: false)
    }

    mutating func prelu(_ input: String, _ output: String, channels: Int) {
        layer("PReLU", "prelu_\(output)", [input], [output], "0=\(channels)")
        append((0..<channels).map { _ in random.float(0, 0.5) }, tagged: false)
    }

    func network() throws -> Network {
        let text = (["7767517", "\(lines.count) \(blobs.count)"] + lines).joined(separator: "\n")
        return try Network(paramText: text, weights: weights)
    }
}

/// Largest absolute difference between two tensors of one shape.
func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "shapes differ: \(a.shape) vs \(b.shape)")
    return zip(a.data, b.data).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Where the set-up script installed the real models, if it has.
func installedModel(_ name: String) -> (param: URL, bin: URL)? {
    let env = ProcessInfo.processInfo.environment
    let dir: URL
    if let custom = env["UPSCALER_MODELS_DIR"] {
        dir = URL(fileURLWithPath: custom)
    } else if let data = env["XDG_DATA_HOME"] {
        dir = URL(fileURLWithPath: data).appendingPathComponent("upscaler/models")
    } else {
        dir = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share/upscaler/models")
    }
    let param = dir.appendingPathComponent("\(name).param"), bin = dir.appendingPathComponent("\(name).bin")
    guard FileManager.default.fileExists(atPath: param.path), FileManager.default.fileExists(atPath: bin.path) else {
        return nil
    }
    return (param, bin)
}
