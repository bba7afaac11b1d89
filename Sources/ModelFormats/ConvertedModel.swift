public import Foundation

/// A model file turned into the ncnn form the engines run: its architecture, detected from the weights, and the
/// `.param` text and `.bin` bytes of the same network.
public struct ConvertedModel: Sendable {
    public let architecture: ModelArchitecture
    public let paramText: String
    public let weights: [UInt8]

    /// Reads `url` (``ModelFile/read(_:sizeLimit:)``), detects its network and writes it out in ncnn form.
    public init(contentsOf url: URL, sizeLimit: Int = ModelFile.defaultSizeLimit) throws {
        let file = url.lastPathComponent
        let (architecture, tensors) = try ModelArchitecture.detect(
            try ModelFile.read(url, sizeLimit: sizeLimit), file: file)
        var graph = NcnnGraph()
        switch architecture {
        case .rrdbNet(let blocks, _, _, let scale):
            Self.rrdbNet(&graph, tensors, blocks: blocks, unshuffle: 4 / scale)
        case .srvggNetCompact(let convolutions, _, let scale, let activation):
            Self.srvggNetCompact(&graph, tensors, convolutions: convolutions, scale: scale, activation: activation)
        }
        self.architecture = architecture
        paramText = graph.paramText
        weights = graph.weights
    }

    /// Real-ESRGAN's RRDBNet forward pass: at 2x and 1x the input is pixel-unshuffled first (by 2 or 4), so the
    /// body still enlarges 4x.
    private static func rrdbNet(_ g: inout NcnnGraph, _ t: [String: WeightTensor], blocks: Int, unshuffle: Int) {
        func conv(_ input: String, _ name: String, leaky: Bool, output: String? = nil) -> String {
            g.convolution(
                input, weight: t["\(name).weight"]!, bias: t["\(name).bias"]!, leakySlope: leaky ? 0.2 : nil,
                output: output)
        }
        let input = unshuffle > 1 ? g.pixelUnshuffle(g.input(), factor: unshuffle) : g.input()
        let feature = conv(input, "conv_first", leaky: false)
        var x = feature
        for block in 0..<blocks {
            let blockInput = x
            for rdb in 1...3 {
                let rdbInput = x
                var dense = [rdbInput]
                for c in 1...4 {
                    let next = conv(
                        dense.count == 1 ? rdbInput : g.concat(dense), "body.\(block).rdb\(rdb).conv\(c)", leaky: true)
                    dense.append(next)
                }
                let last = conv(g.concat(dense), "body.\(block).rdb\(rdb).conv5", leaky: false)
                x = g.sum(last, rdbInput, coefficients: (0.2, 1))
            }
            x = g.sum(x, blockInput, coefficients: (0.2, 1))
        }
        x = g.sum(feature, conv(x, "conv_body", leaky: false))
        x = conv(g.nearest(x, scale: 2), "conv_up1", leaky: true)
        x = conv(g.nearest(x, scale: 2), "conv_up2", leaky: true)
        _ = conv(conv(x, "conv_hr", leaky: true), "conv_last", leaky: false, output: "output")
    }

    /// Real-ESRGAN's SRVGGNetCompact forward pass: the body, a pixel shuffle, and the input enlarged by nearest
    /// neighbour added back.
    private static func srvggNetCompact(
        _ g: inout NcnnGraph, _ t: [String: WeightTensor], convolutions: Int, scale: Int,
        activation: ModelArchitecture.Activation
    ) {
        let data = g.input()
        var x = data
        let count = convolutions + 2
        for i in 0..<count {
            let last = i == count - 1
            x = g.convolution(
                x, weight: t["body.\(2 * i).weight"]!, bias: t["body.\(2 * i).bias"]!,
                leakySlope: !last && activation == .leakyReLU ? 0.1 : nil)
            if !last && activation == .prelu { x = g.prelu(x, slopes: t["body.\(2 * i + 1).weight"]!) }
        }
        _ = g.sum(g.pixelShuffle(x, factor: scale), g.nearest(data, scale: scale), output: "output")
    }
}
