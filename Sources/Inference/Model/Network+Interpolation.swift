extension Network {
    /// This network's weights times `weight` plus `other`'s times `1 - weight`, layer by layer: upstream
    /// Real-ESRGAN's network interpolation, which `--denoise` uses to blend realesr-general-x4v3 with its weak-denoise
    /// companion. The two must be the same network apart from their weights: the same layers, wired by the same blob
    /// names, with convolutions of the same shapes (two files converted from one architecture are).
    public func interpolated(with other: Network, weight: Float) throws -> Network {
        func mismatch(_ why: String) -> InferenceError {
            InferenceError(.malformedModel, "the two networks cannot be blended: \(why)")
        }
        guard layers.count == other.layers.count else {
            throw mismatch("\(layers.count) layers against \(other.layers.count)")
        }
        func blend(_ a: [Float], _ b: [Float], _ what: String) throws -> [Float] {
            guard a.count == b.count else { throw mismatch("\(what) holds \(a.count) values against \(b.count)") }
            return zip(a, b).map { $0 * weight + $1 * (1 - weight) }
        }
        var result = self
        for (index, (mine, theirs)) in zip(layers, other.layers).enumerated() {
            guard mine.type == theirs.type, mine.inputs == theirs.inputs, mine.outputs == theirs.outputs else {
                throw mismatch("layer \(index) is \(mine.type) \(mine.name) against \(theirs.type) \(theirs.name)")
            }
            switch (mine.operation, theirs.operation) {
            case (.convolution(var a), .convolution(let b)):
                guard a.outChannels == b.outChannels, a.inChannels == b.inChannels, a.kernelHeight == b.kernelHeight,
                    a.kernelWidth == b.kernelWidth, a.activation == b.activation
                else { throw mismatch("convolution \(mine.name) differs in shape or activation") }
                a.weights = try blend(a.weights, b.weights, "convolution \(mine.name)")
                a.bias = try blend(a.bias, b.bias, "the bias of \(mine.name)")
                result.layers[index].operation = .convolution(a)
            case (.prelu(var a), .prelu(let b)):
                a.slopes = try blend(a.slopes, b.slopes, "the slopes of \(mine.name)")
                result.layers[index].operation = .prelu(a)
            default:
                continue  // weightless layers: the types matched above
            }
        }
        return result
    }
}
