import CVulkan
public import Inference

/// Runs a network on a Vulkan GPU. The planner's plan (aliases, fused sums, concat slices, buffer liveness) is the
/// same as the CPU engine's; here each step becomes a compute dispatch, and a whole run is one command buffer.
///
/// A run crosses the bus once each way: the input tile is copied up, every layer runs on the device, and the output
/// tile is copied down. Weights are uploaded once per engine. Not thread-safe: one engine serves one caller at a
/// time, like the CPU engine.
public final class VulkanEngine: NetworkRunner {
    public let network: Network
    /// Any tile side works, except that a network unshuffling its input by `r` (RRDBNet at 2x or 1x) needs multiples of `r`.
    public var preferredAlignment: Int { network.inputAlignment }
    /// The device this engine runs on.
    public let device: GPUDevice
    /// `.fp16` (fp16 storage and arithmetic, fp32 totals) or `.fp32`.
    public let precision: Precision
    let context: VulkanContext
    let kernels: KernelLibrary
    private var constants: [String: VulkanBuffer] = [:]
    private var plan: VulkanPlan?

    /// Opens device `index` (the `N` of `gpu:N`). `precision` defaults to fp16 where the device has it.
    public init(network: Network, device index: Int, precision: Precision? = nil) throws {
        let instance = try VulkanInstance()
        let context = try VulkanContext(instance: instance, index: index)
        let chosen = precision ?? (context.fp16Enabled ? .fp16 : .fp32)
        switch chosen {
        case .fp32: break
        case .fp16:
            guard context.fp16Enabled else {
                throw InferenceError(
                    .unsupportedPrecision,
                    "\(context.info.name) has no fp16 storage or arithmetic; use --precision fp32")
            }
        case .bf16:
            throw InferenceError(.unsupportedPrecision, "bf16 is a CPU precision; the GPU runs fp16 or fp32")
        }
        self.network = network
        self.context = context
        self.device = context.info
        self.precision = chosen
        kernels = KernelLibrary(context, fp16: chosen == .fp16)
    }

    /// Runs the network on one input tensor.
    public func run(_ input: Tensor) throws -> Tensor {
        guard input.channels == network.inputChannels else {
            throw InferenceError(
                .shapeMismatch, "the model expects \(network.inputChannels) input channels, got \(input.channels)")
        }
        if plan?.inputShape != input.shape {
            plan = nil  // free the old buffers before making new ones
            kernels.beginPlan()
            plan = try VulkanPlan(engine: self, input: input.shape)
        }
        return try plan!.run(input)
    }

    /// Bytes of device memory the current plan's activations and staging buffers hold.
    public var planBytes: Int { plan?.bufferBytes ?? 0 }

    public func releaseBuffers() {
        plan = nil
    }

    /// Compute pipelines cached for the plans of the last few input shapes.
    public var cachedPipelines: Int { kernels.pipelineCount }

    /// The largest square tile edge, from `candidates`, whose plan fits this device: every buffer within the largest
    /// one a shader may address, and all of them (weights included) within half the memory budget, which leaves
    /// room for other processes and the driver. Planning is a walk over the graph: nothing is allocated here.
    public func largestTile(candidates: [Int] = [1024, 768, 512, 384, 256, 192, 128, 96, 64]) -> Int {
        let elementBytes = precision == .fp16 ? 2 : 4
        let weightBytes = network.layers.reduce(0) { total, layer in
            guard case .convolution(let conv) = layer.operation else { return total }
            return total + conv.weights.count * elementBytes + conv.outChannels * 4
        }
        let budget = Int(min(device.budgetBytes, UInt64(Int.max))) / 2 - weightBytes
        for edge in candidates.sorted(by: >) {
            let input = Shape(channels: network.inputChannels, height: edge, width: edge)
            guard let logical = try? Planner.plan(network, input: input) else { continue }
            let counts = BufferAssignment.assign(logical, size: VulkanPlan.elementCount).counts
            let largest = (counts.max() ?? 0) * elementBytes
            let staging = (input.count + logical.outputView.channels * logical.outputView.plane) * elementBytes
            let total = counts.reduce(0, +) * elementBytes + staging
            if UInt64(largest) <= device.maxBufferBytes && total <= budget { return edge }
        }
        return candidates.min() ?? 64
    }

    // MARK: - Constants

    /// A device-local buffer holding `values` in the shader's element type (`fp16` for activations and weights in
    /// fp16 mode), uploaded once and kept for the engine's life under `key`.
    func constant(_ key: String, floats values: [Float], asStorageType: Bool) throws -> VulkanBuffer {
        if let made = constants[key] { return made }
        let buffer: VulkanBuffer
        if asStorageType && kernels.fp16 {
            buffer = try upload(values.map { Float16($0) })
        } else {
            buffer = try upload(values)
        }
        constants[key] = buffer
        return buffer
    }

    func constant(_ key: String, ints values: [Int32]) throws -> VulkanBuffer {
        if let made = constants[key] { return made }
        let buffer = try upload(values)
        constants[key] = buffer
        return buffer
    }

    /// Copies `values` into a new device-local buffer through a host-visible staging buffer.
    private func upload<T>(_ values: [T]) throws -> VulkanBuffer {
        let bytes = values.count * MemoryLayout<T>.stride
        let staging = try VulkanBuffer(context, bytes: bytes, placement: .host)
        values.withUnsafeBytes { staging.mapped!.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        let target = try VulkanBuffer(context, bytes: bytes, placement: .device)
        try context.submitAndWait { commands in
            var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: VkDeviceSize(max(bytes, 4)))
            context.vk.cmdCopyBuffer(commands, staging.handle, target.handle, 1, &region)
        }
        return target
    }
}
