import Inference

extension Convolution {
    /// OIHW weights widened with zeros to `inChannels` inputs and `outChannels` outputs (the blocked layout's padded
    /// counts) and multiplied by `scale` (a fused residual sum's coefficient).
    func paddedWeights(inChannels: Int, outChannels: Int, scale: Float) -> [Float] {
        let k = kernelHeight * kernelWidth
        var padded = [Float](repeating: 0, count: outChannels * inChannels * k)
        for o in 0..<self.outChannels {
            for i in 0..<self.inChannels {
                for t in 0..<k {
                    padded[(o * inChannels + i) * k + t] = weights[(o * self.inChannels + i) * k + t] * scale
                }
            }
        }
        return padded
    }

    /// The bias widened with zeros to `outChannels` and multiplied by `scale`; zeros when the layer has none.
    func paddedBias(outChannels: Int, scale: Float) -> [Float] {
        (0..<outChannels).map { o in o < self.outChannels && !bias.isEmpty ? bias[o] * scale : 0 }
    }
}
