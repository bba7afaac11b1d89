import CVulkan
import Inference

/// A network lowered for one input shape on one device: activation buffers assigned by the planner's liveness, one
/// dispatch per step, and a command buffer recorded once and submitted for every run.
///
/// Storages are plain CHW on the device (the CPU engine's 16-channel blocking buys nothing here), so a view is a
/// contiguous run starting at `channelOffset * height * width` elements into its buffer.
final class VulkanPlan {
    /// One compute dispatch: the pipeline, its buffers by binding, push constants as 32-bit words, workgroups.
    struct Dispatch {
        let pipeline: ComputePipeline
        let buffers: [VulkanBuffer]
        let push: [UInt32]
        let groups: (x: UInt32, y: UInt32, z: UInt32)
    }

    let inputShape: Shape
    /// The device, not the engine: the engine holds its plan, and a plan holding the engine would keep both alive.
    private let context: VulkanContext
    private let buffers: [VulkanBuffer]
    private let stagingIn: VulkanBuffer
    private let stagingOut: VulkanBuffer
    private let dispatches: [Dispatch]
    private let descriptorPool: VkDescriptorPool
    private let commands: CommandBuffer
    private let outputView: BlobView
    private let elementBytes: Int

    var bufferBytes: Int { buffers.reduce(stagingIn.byteCount + stagingOut.byteCount) { $0 + $1.byteCount } }

    init(engine: VulkanEngine, input shape: Shape) throws {
        let context = engine.context
        self.context = context
        let fp16 = engine.kernels.fp16
        let elementBytes = fp16 ? 2 : 4
        let logical = try Planner.plan(engine.network, input: shape)
        let assignment = BufferAssignment.assign(logical, size: Self.elementCount)
        let buffers = try assignment.counts.map {
            try VulkanBuffer(context, bytes: $0 * elementBytes, placement: .device)
        }
        func buffer(_ view: BlobView) -> VulkanBuffer { buffers[assignment.storageBuffer[view.storage]] }
        func offset(_ view: BlobView) -> UInt32 { UInt32(view.channelOffset * view.plane) }

        let inputView = logical.inputView
        let outputView = logical.outputView
        let stagingIn = try VulkanBuffer(context, bytes: shape.count * elementBytes, placement: .host)
        let stagingOut = try VulkanBuffer(
            context, bytes: outputView.channels * outputView.plane * elementBytes,
            placement: .host)
        // Bound to bindings a mode does not read, so every binding has a valid buffer.
        let unused = try engine.constant("unused", floats: [0, 0, 0, 0], asStorageType: false)

        var dispatches: [Dispatch] = []
        func elementwise(
            mode: UInt32, count: Int, a: BlobView, b: BlobView? = nil, output: BlobView,
            plane: Int = 0, ca: Float = 1, cb: Float = 0, s: Float = 0,
            slopes: VulkanBuffer? = nil
        ) throws {
            let pipeline = try engine.kernels.pipeline(.elementwise, [mode])
            let push = [
                UInt32(count), offset(a), b.map(offset) ?? 0, offset(output), UInt32(plane),
                ca.bitPattern, cb.bitPattern, s.bitPattern,
            ]
            dispatches.append(
                Dispatch(
                    pipeline: pipeline,
                    buffers: [buffer(a), b.map(buffer) ?? unused, buffer(output), slopes ?? unused],
                    push: push, groups: Self.linearGroups(count)))
        }

        for step in logical.steps {
            switch step {
            case .convolution(let layer, let conv, let input, let output, let scale, let sumScale):
                dispatches.append(
                    try Self.convolution(
                        engine, layer: layer, conv: conv, input: input, output: output,
                        scale: scale, sumScale: sumScale, buffer: buffer, offset: offset))
            case .copy(let from, let to):
                try elementwise(mode: 0, count: to.channels * to.plane, a: from, output: to)
            case .eltwise(let inputs, let output, let op):
                let count = output.channels * output.plane
                switch op.kind {
                case .sum:
                    try elementwise(
                        mode: 1, count: count, a: inputs[0], b: inputs[1], output: output,
                        ca: op.coefficient(0), cb: op.coefficient(1))
                    for k in inputs.indices.dropFirst(2) {
                        try elementwise(
                            mode: 1, count: count, a: output, b: inputs[k], output: output,
                            ca: 1, cb: op.coefficient(k))
                    }
                case .product, .maximum:
                    let mode: UInt32 = op.kind == .product ? 2 : 3
                    try elementwise(mode: mode, count: count, a: inputs[0], b: inputs[1], output: output)
                    for k in inputs.indices.dropFirst(2) {
                        try elementwise(mode: mode, count: count, a: output, b: inputs[k], output: output)
                    }
                }
            case .binary(let a, let b, let output, let op):
                let count = output.channels * output.plane
                switch (op.kind, op.scalar, b) {
                case (.add, let s?, _): try elementwise(mode: 4, count: count, a: a, output: output, s: s)
                case (.subtract, let s?, _): try elementwise(mode: 4, count: count, a: a, output: output, s: -s)
                case (.multiply, let s?, _): try elementwise(mode: 4, count: count, a: a, output: output, ca: s)
                case (.add, nil, let b?): try elementwise(mode: 1, count: count, a: a, b: b, output: output, cb: 1)
                case (.subtract, nil, let b?):
                    try elementwise(mode: 1, count: count, a: a, b: b, output: output, cb: -1)
                case (.multiply, nil, let b?): try elementwise(mode: 2, count: count, a: a, b: b, output: output)
                case (_, nil, nil):
                    throw InferenceError(.malformedModel, "a binary op has neither a second input nor a scalar")
                }
            case .prelu(let input, let output, let op):
                let slopes = try engine.constant("prelu:\(op.slopes)", floats: op.slopes, asStorageType: false)
                try elementwise(
                    mode: 5, count: output.channels * output.plane, a: input, output: output,
                    plane: op.slopes.count == 1 ? 0 : output.plane, slopes: slopes)
            case .pixelShuffle(let input, let output, let op):
                let pipeline = try engine.kernels.pipeline(.pixelShuffle)
                let push =
                    [output.channels, output.height, output.width, op.factor].map { UInt32($0) }
                    + [offset(input), offset(output), op.inverse ? 1 : 0]
                dispatches.append(
                    Dispatch(
                        pipeline: pipeline, buffers: [buffer(input), buffer(output)], push: push,
                        groups: Self.linearGroups(output.channels * output.plane)))
            case .interpolation(let input, let output, let op):
                let rows = InterpolationTaps(
                    kind: op.kind, input: input.height, output: output.height,
                    alignCorners: op.alignCorners)
                let columns = InterpolationTaps(
                    kind: op.kind, input: input.width, output: output.width,
                    alignCorners: op.alignCorners)
                let key =
                    "taps:\(op.kind):\(input.height)x\(input.width)->\(output.height)x\(output.width):\(op.alignCorners)"
                let indices = try engine.constant(key + ":i", ints: (rows.indices + columns.indices).map { Int32($0) })
                let weights = try engine.constant(
                    key + ":w", floats: rows.weights + columns.weights, asStorageType: false)
                let pipeline = try engine.kernels.pipeline(.interpolation, [UInt32(rows.tapsPerOutput)])
                let push =
                    [input.channels, input.height, input.width, output.height, output.width].map { UInt32($0) }
                    + [offset(input), offset(output)]
                dispatches.append(
                    Dispatch(
                        pipeline: pipeline, buffers: [buffer(input), buffer(output), indices, weights],
                        push: push, groups: Self.linearGroups(output.channels * output.plane)))
            }
        }
        let descriptorPool = try Self.makeDescriptorPool(context, dispatches)
        let commands: CommandBuffer
        do {
            commands = try CommandBuffer(context)
            let sets = try Self.allocateSets(context, descriptorPool, dispatches)
            let inputBuffer = buffer(inputView), outputBuffer = buffer(outputView)
            let inputBytes = shape.count * elementBytes
            let outputBytes = outputView.channels * outputView.plane * elementBytes
            let outputOffset = Int(offset(outputView)) * elementBytes
            let inputOffset = Int(offset(inputView)) * elementBytes
            let staging = (stagingIn.handle, stagingOut.handle)
            try commands.record(oneTime: false) { cb in
                let vk = context.vk
                var up = VkBufferCopy(
                    srcOffset: 0, dstOffset: VkDeviceSize(inputOffset), size: VkDeviceSize(inputBytes))
                vk.cmdCopyBuffer(cb, staging.0, inputBuffer.handle, 1, &up)
                Self.barrier(
                    vk, cb, from: VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                    to: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VkAccessFlagBits(VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue))
                for (dispatch, set) in zip(dispatches, sets) {
                    vk.cmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, dispatch.pipeline.pipeline)
                    var boundSet: VkDescriptorSet? = set
                    vk.cmdBindDescriptorSets(
                        cb, VK_PIPELINE_BIND_POINT_COMPUTE, dispatch.pipeline.layout, 0, 1,
                        &boundSet, 0, nil)
                    dispatch.push.withUnsafeBytes { words in
                        vk.cmdPushConstants(
                            cb, dispatch.pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0,
                            UInt32(words.count), words.baseAddress)
                    }
                    vk.cmdDispatch(cb, dispatch.groups.x, dispatch.groups.y, dispatch.groups.z)
                    // Each step may read what any earlier one wrote: a full compute-to-compute barrier between them.
                    Self.barrier(
                        vk, cb, from: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                        to: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                        VkAccessFlagBits(VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue))
                }
                Self.barrier(
                    vk, cb, from: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                    to: VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT)
                var down = VkBufferCopy(
                    srcOffset: VkDeviceSize(outputOffset), dstOffset: 0, size: VkDeviceSize(outputBytes))
                vk.cmdCopyBuffer(cb, outputBuffer.handle, staging.1, 1, &down)
                Self.barrier(
                    vk, cb, from: VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                    to: VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT)
            }
        } catch {
            context.vk.destroyDescriptorPool(context.device, descriptorPool, nil)
            throw error
        }
        inputShape = shape
        self.elementBytes = elementBytes
        self.buffers = buffers
        self.outputView = outputView
        self.stagingIn = stagingIn
        self.stagingOut = stagingOut
        self.dispatches = dispatches
        self.descriptorPool = descriptorPool
        self.commands = commands
    }

    deinit {
        _ = context.vk.deviceWaitIdle(context.device)
        context.vk.destroyDescriptorPool(context.device, descriptorPool, nil)
    }

    func run(_ tensor: Tensor) throws -> Tensor {
        let inPointer = stagingIn.mapped!, outPointer = stagingOut.mapped!
        tensor.data.withUnsafeBufferPointer { source in
            if elementBytes == 2 {
                let target = inPointer.bindMemory(to: Float16.self, capacity: source.count)
                for i in source.indices { target[i] = Float16(source[i]) }
            } else {
                inPointer.copyMemory(from: source.baseAddress!, byteCount: source.count * 4)
            }
        }
        try commands.submitAndWait()
        let v = outputView
        var result = Tensor(channels: v.channels, height: v.height, width: v.width)
        result.data.withUnsafeMutableBufferPointer { target in
            if elementBytes == 2 {
                let source = outPointer.bindMemory(to: Float16.self, capacity: target.count)
                for i in target.indices { target[i] = Float(source[i]) }
            } else {
                UnsafeMutableRawPointer(target.baseAddress!).copyMemory(from: outPointer, byteCount: target.count * 4)
            }
        }
        return result
    }

    // MARK: - Lowering helpers

    /// Elements of a storage in this backend's plain CHW layout (no channel padding, unlike the CPU's blocks).
    static func elementCount(_ storage: StorageSpec) -> Int { storage.channels * storage.height * storage.width }

    /// Workgroups of 256 for a flat loop over `count` elements; the shaders stride over what one launch does not cover.
    static func linearGroups(_ count: Int) -> (x: UInt32, y: UInt32, z: UInt32) {
        (UInt32(max(1, min((count + 255) / 256, 65535))), 1, 1)
    }

    private static func convolution(
        _ engine: VulkanEngine, layer: String, conv: Convolution, input: BlobView,
        output: BlobView, scale: Float, sumScale: Float?,
        buffer: (BlobView) -> VulkanBuffer,
        offset: (BlobView) -> UInt32
    ) throws -> Dispatch {
        // The planner's scale (a fused residual's coefficient) is folded into the weights and bias, as on the CPU.
        let weights = try engine.constant(
            "w:\(layer):\(scale)", floats: scale == 1 ? conv.weights : conv.weights.map { $0 * scale },
            asStorageType: true)
        let bias = try engine.constant(
            "b:\(layer):\(scale)",
            floats: conv.bias.isEmpty
                ? [Float](repeating: 0, count: conv.outChannels)
                : conv.bias.map { $0 * scale },
            asStorageType: false)
        let rows: UInt32 = conv.outChannels <= 16 ? 16 : conv.outChannels <= 32 ? 32 : 64
        let columns: UInt32 = 64
        let threads = (rows / 4) * (columns / 4)
        let activation: UInt32, slope: Float
        switch conv.activation {
        case .none: (activation, slope) = (0, 0)
        case .relu: (activation, slope) = (1, 0)
        case .leakyReLU(let s): (activation, slope) = (2, s)
        }
        let shape =
            [
                conv.kernelHeight, conv.kernelWidth, conv.strideHeight, conv.strideWidth, conv.dilationHeight,
                conv.dilationWidth,
            ].map { UInt32($0) } + [activation, sumScale == nil ? 0 : 1]
            + [
                input.channels, input.height, input.width, output.channels, output.height, output.width,
            ].map { UInt32($0) } + [UInt32(bitPattern: Int32(conv.padTop)), UInt32(bitPattern: Int32(conv.padLeft))]
        let pipeline = try engine.kernels.pipeline(.convolution, [threads, rows, columns] + shape)
        let push: [UInt32] = [offset(input), offset(output), slope.bitPattern, (sumScale ?? 0).bitPattern]
        let tiles = (output.plane + Int(columns) - 1) / Int(columns)
        let x = min(tiles, 65535)
        return Dispatch(
            pipeline: pipeline, buffers: [buffer(input), buffer(output), weights, bias], push: push,
            groups: (
                UInt32(x), UInt32((output.channels + Int(rows) - 1) / Int(rows)),
                UInt32((tiles + x - 1) / x)
            ))
    }

    private static func barrier(
        _ vk: DeviceFunctions, _ cb: VkCommandBuffer, from: VkPipelineStageFlagBits,
        _ sourceAccess: VkAccessFlagBits, to: VkPipelineStageFlagBits,
        _ targetAccess: VkAccessFlagBits
    ) {
        var memory = VkMemoryBarrier()
        memory.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        memory.srcAccessMask = sourceAccess.rawValue
        memory.dstAccessMask = targetAccess.rawValue
        vk.cmdPipelineBarrier(cb, from.rawValue, to.rawValue, 0, 1, &memory, 0, nil, 0, nil)
    }

    private static func makeDescriptorPool(_ context: VulkanContext, _ dispatches: [Dispatch]) throws
        -> VkDescriptorPool
    {
        var size = VkDescriptorPoolSize(
            type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            descriptorCount: UInt32(max(1, dispatches.reduce(0) { $0 + $1.buffers.count })))
        var info = VkDescriptorPoolCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
        info.maxSets = UInt32(max(1, dispatches.count))
        info.poolSizeCount = 1
        var pool: VkDescriptorPool?
        try withUnsafePointer(to: &size) { sizePointer in
            info.pPoolSizes = sizePointer
            try check(context.vk.createDescriptorPool(context.device, &info, nil, &pool), "vkCreateDescriptorPool")
        }
        guard let pool else { throw InferenceError(.backendFailure, "no descriptor pool") }
        return pool
    }

    private static func allocateSets(
        _ context: VulkanContext, _ pool: VkDescriptorPool,
        _ dispatches: [Dispatch]
    ) throws -> [VkDescriptorSet] {
        var sets: [VkDescriptorSet] = []
        for dispatch in dispatches {
            var layout: VkDescriptorSetLayout? = dispatch.pipeline.setLayout
            var set: VkDescriptorSet?
            try withUnsafePointer(to: &layout) { layoutPointer in
                var info = VkDescriptorSetAllocateInfo()
                info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
                info.descriptorPool = pool
                info.descriptorSetCount = 1
                info.pSetLayouts = layoutPointer
                try check(context.vk.allocateDescriptorSets(context.device, &info, &set), "vkAllocateDescriptorSets")
            }
            guard let set else { throw InferenceError(.backendFailure, "no descriptor set") }
            var infos = dispatch.buffers.map {
                VkDescriptorBufferInfo(buffer: $0.handle, offset: 0, range: VkDeviceSize(VK_WHOLE_SIZE))
            }
            infos.withUnsafeMutableBufferPointer { infoPointer in
                var writes = (0..<infoPointer.count).map { index -> VkWriteDescriptorSet in
                    var write = VkWriteDescriptorSet()
                    write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                    write.dstSet = set
                    write.dstBinding = UInt32(index)
                    write.descriptorCount = 1
                    write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                    write.pBufferInfo = UnsafePointer(infoPointer.baseAddress! + index)
                    return write
                }
                context.vk.updateDescriptorSets(context.device, UInt32(writes.count), &writes, 0, nil)
            }
            sets.append(set)
        }
        return sets
    }
}
