import CVulkan
import Inference

/// A storage buffer with its own memory: device-local for activations and weights, host-visible (and mapped for its
/// whole life) for the staging copies that cross the bus.
final class VulkanBuffer {
    enum Placement {
        case device
        case host
    }

    let context: VulkanContext
    let handle: VkBuffer
    let memory: VkDeviceMemory
    let byteCount: Int
    /// The mapped address of a host buffer.
    let mapped: UnsafeMutableRawPointer?

    init(_ context: VulkanContext, bytes: Int, placement: Placement) throws {
        self.context = context
        let vk = context.vk, device = context.device
        // Vulkan refuses empty buffers; a 4-byte one stands in for an empty storage.
        let size = max(bytes, 4)
        if UInt64(size) > context.info.maxBufferBytes && placement == .device {
            throw InferenceError(
                .outOfDeviceMemory,
                "a tile needs a \(size >> 20) MiB buffer, over this GPU's \(context.info.maxBufferBytes >> 20) MiB limit; use a smaller --tile"
            )
        }
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = VkDeviceSize(size)
        info.usage =
            VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer?
        try check(vk.createBuffer(device, &info, nil, &buffer), "vkCreateBuffer")
        guard let buffer else { throw InferenceError(.backendFailure, "vkCreateBuffer returned no buffer") }
        var requirements = VkMemoryRequirements()
        vk.getBufferMemoryRequirements(device, buffer, &requirements)
        let required: VkMemoryPropertyFlags, preferred: VkMemoryPropertyFlags
        switch placement {
        case .device:
            required = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue
            preferred = 0
        case .host:
            required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
            preferred = VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue
        }
        guard
            let type = context.memoryType(requirements.memoryTypeBits, required: required, preferred: preferred)
                ?? (placement == .device ? context.memoryType(requirements.memoryTypeBits, required: 0) : nil)
        else {
            vk.destroyBuffer(device, buffer, nil)
            throw InferenceError(.backendFailure, "the GPU offers no memory type for a \(placement) buffer")
        }
        var allocation = VkMemoryAllocateInfo()
        allocation.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        allocation.allocationSize = requirements.size
        allocation.memoryTypeIndex = type
        var memory: VkDeviceMemory?
        let allocated = vk.allocateMemory(device, &allocation, nil, &memory)
        guard allocated == VK_SUCCESS, let memory else {
            vk.destroyBuffer(device, buffer, nil)
            try check(allocated, "vkAllocateMemory(\(requirements.size) bytes)")
            throw InferenceError(.outOfDeviceMemory, "the GPU returned no memory")
        }
        var pointer: UnsafeMutableRawPointer?
        var result = vk.bindBufferMemory(device, buffer, memory, 0)
        if result == VK_SUCCESS && placement == .host {
            result = vk.mapMemory(device, memory, 0, VkDeviceSize(VK_WHOLE_SIZE), 0, &pointer)
        }
        guard result == VK_SUCCESS else {
            vk.freeMemory(device, memory, nil)
            vk.destroyBuffer(device, buffer, nil)
            try check(result, "vkBindBufferMemory/vkMapMemory")
            throw InferenceError(.backendFailure, "buffer setup failed")
        }
        handle = buffer
        self.memory = memory
        byteCount = size
        mapped = pointer
    }

    deinit {
        let vk = context.vk
        if mapped != nil { vk.unmapMemory(context.device, memory) }
        vk.destroyBuffer(context.device, handle, nil)
        vk.freeMemory(context.device, memory, nil)
    }
}
