extension Planner {
    /// Blobs of fewer than 16 channels that only element-wise ops, interpolation and pixel shuffle touch, which the
    /// planner stores plain (`nchw`) instead of in 16-lane blocks.
    ///
    /// animevideov3 ends in three such tensors at 4x the input (the pixel shuffle to 3 channels, the upsampled input
    /// and their sum): blocked, each holds 13 lanes of zeros for every 3 values, 268 MB each for a 512 px input.
    /// Convolutions, PReLU and concats keep blocks (their kernels want them), so a blob any of them reads stays blocked,
    /// as does one a fused sum reads (its convolution's output is pre-filled with it) or writes (a convolution does).
    static func plainBlobs(
        _ network: Network, shapes: [String: Shape], canonical: (String) -> String, fusedAway: Set<Int>
    ) -> Set<String> {
        func plainFriendly(_ index: Int, producing: Bool) -> Bool {
            guard !fusedAway.contains(index) else { return false }
            switch network.layers[index].operation {
            case .eltwise, .binary, .interpolation: return true
            case .pixelShuffle(let op): return producing && !op.inverse
            default: return false
            }
        }
        var candidates = Set<String>()
        for (index, layer) in network.layers.enumerated() where plainFriendly(index, producing: true) {
            for out in layer.outputs.map(canonical) where (shapes[out]?.channels ?? 16) < 16 { candidates.insert(out) }
        }
        for (index, layer) in network.layers.enumerated() {
            if case .split = layer.operation { continue }
            guard !plainFriendly(index, producing: false) else { continue }
            for blob in layer.inputs.map(canonical) { candidates.remove(blob) }
        }
        return candidates
    }
}
