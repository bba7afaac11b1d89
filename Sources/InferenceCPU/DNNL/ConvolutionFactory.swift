import CDNNL
import Inference

/// Builds one oneDNN convolution primitive for a planned convolution step.
enum ConvolutionFactory {
    struct Made {
        let primitive: DNNLPrimitive
        /// Set when the chosen kernel cannot fuse the leaky ReLU, so the engine applies it after the convolution.
        let leakySlope: Float?
    }

    /// Creates the primitive, preferring Winograd for 3x3 stride-1 layers.
    ///
    /// oneDNN 2.6's Winograd kernel (`jit_wino_4x3`) is about twice as fast as direct convolution here but refuses an
    /// eltwise post-op with a non-zero slope, so for leaky ReLU layers it runs unfused and the engine applies the
    /// activation in one vectorised pass over the output slice. Channels are padded to 16 with zero weights, so
    /// blocked views can be read and written whole; that also turns the 64->3 output layer into a 64->16 layer that
    /// Winograd accepts, which is several times faster than oneDNN's kernels for 3 output channels.
    ///
    /// `bf16Source`, when given, is a bf16 copy of the input view in the same blocked layout; the convolution then
    /// reads it with bf16 weights and accumulates in fp32 (oneDNN has no bf16 Winograd, so this is always direct).
    static func make(
        layer: String, conv: Convolution, input: ViewPointer, output: ViewPointer, scale: Float,
        sumScale: Float?, backend: DNNLEngine, winograd: Bool,
        bf16Source: UnsafeMutableRawPointer? = nil
    ) throws -> Made {
        precondition(!output.plain, "convolutions write blocked storages")
        let inChannels = input.plain ? conv.inChannels : input.view.paddedChannels
        let outChannels = (conv.outChannels + 15) & ~15
        let precision: MemoryDescriptor.Precision = bf16Source == nil ? .f32 : .bf16
        let src = try MemoryDescriptor(
            dims: [1, inChannels, input.view.height, input.view.width],
            format: input.plain ? .nchw : .blocked16, precision: precision)
        let dst = try MemoryDescriptor(
            dims: [1, outChannels, output.view.height, output.view.width], format: .blocked16)
        let weightsShape = [outChannels, inChannels, conv.kernelHeight, conv.kernelWidth]
        let weightsUser = try MemoryDescriptor(dims: weightsShape, format: .oihw)
        let weightsAny = try MemoryDescriptor(dims: weightsShape, format: .any, precision: precision)
        let biasLayout = try MemoryDescriptor(dims: [outChannels], format: .vector)

        let squareThree =
            conv.kernelHeight == 3 && conv.kernelWidth == 3 && conv.strideHeight == 1
            && conv.strideWidth == 1 && conv.dilationHeight == 1 && conv.dilationWidth == 1
        var fusedSlope: Float?
        if case .relu = conv.activation { fusedSlope = 0 }
        if case .leakyReLU(let slope) = conv.activation { fusedSlope = slope }

        func attempt(_ algorithm: dnnl_alg_kind_t, slope: Float?) throws -> DNNLPrimitive {
            var desc = dnnl_convolution_desc_t()
            var s = src.desc, w = weightsAny.desc, b = biasLayout.desc, d = dst.desc
            let strides: [Int64] = [Int64(conv.strideHeight), Int64(conv.strideWidth)]
            let dilations: [Int64] = [Int64(conv.dilationHeight - 1), Int64(conv.dilationWidth - 1)]
            let padL: [Int64] = [Int64(conv.padTop), Int64(conv.padLeft)]
            let padR: [Int64] = [Int64(conv.padBottom), Int64(conv.padRight)]
            try check(
                dnnl_dilated_convolution_forward_desc_init(
                    &desc, dnnl_forward_inference, algorithm, &s, &w, &b, &d,
                    strides, dilations, padL, padR),
                "convolution descriptor for \(layer)")
            return try withUnsafePointer(to: &desc) { pointer in
                try DNNLPrimitive(
                    descriptor: UnsafeRawPointer(pointer),
                    postOps: PostOps(sumScale: sumScale, reluSlope: slope),
                    engine: backend, what: "convolution \(layer)"
                ) { pd in
                    let weights = try makeWeights(
                        conv, inChannels: inChannels, outChannels: outChannels, scale: scale,
                        user: weightsUser,
                        wanted: DNNLPrimitive.queryLayout(pd, dnnl_query_weights_md),
                        backend: backend)
                    let bias = try DNNLMemory(biasLayout, engine: backend)
                    bias.pointer.assumingMemoryBound(to: Float.self)
                        .update(from: conv.paddedBias(outChannels: outChannels, scale: scale), count: outChannels)
                    return [
                        (
                            DNNLArgument.source,
                            try DNNLMemory(
                                src, engine: backend,
                                pointer: bf16Source ?? UnsafeMutableRawPointer(input.start))
                        ),
                        (DNNLArgument.weights, weights),
                        (DNNLArgument.bias, bias),
                        (
                            DNNLArgument.destination,
                            try DNNLMemory(dst, engine: backend, pointer: UnsafeMutableRawPointer(output.start))
                        ),
                    ]
                }
            }
        }

        if winograd && squareThree && !input.plain && bf16Source == nil {
            let fusable: Float? = fusedSlope == 0 ? 0 : nil
            if let primitive = try? attempt(dnnl_convolution_winograd, slope: fusable) {
                return Made(primitive: primitive, leakySlope: fusable == nil ? fusedSlope : nil)
            }
        }
        return Made(primitive: try attempt(dnnl_convolution_direct, slope: fusedSlope), leakySlope: nil)
    }

    /// Pads OIHW weights to the blocked channel counts, scales them, and reorders them to the kernel's layout.
    private static func makeWeights(
        _ conv: Convolution, inChannels: Int, outChannels: Int, scale: Float,
        user: MemoryDescriptor, wanted: MemoryDescriptor, backend: DNNLEngine
    ) throws -> DNNLMemory {
        let plain = try DNNLMemory(user, engine: backend)
        let padded = conv.paddedWeights(inChannels: inChannels, outChannels: outChannels, scale: scale)
        plain.pointer.assumingMemoryBound(to: Float.self).update(from: padded, count: padded.count)
        return try backend.reorder(plain, fromLayout: user, to: wanted)
    }
}
