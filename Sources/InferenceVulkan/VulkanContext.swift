import CVulkan
import Glibc
import Inference

/// One logical device on one GPU: its queue, command pool and memory types. Every other Vulkan object of the
/// backend is made from a context and keeps it alive.
final class VulkanContext: @unchecked Sendable {
    // Used by one engine at a time (engines are not thread-safe), so no lock guards the queue.
    let instance: VulkanInstance
    let info: GPUDevice
    let physical: VkPhysicalDevice
    let device: VkDevice
    let vk: DeviceFunctions
    let queue: VkQueue
    let commandPool: VkCommandPool
    /// fp16 storage and arithmetic were enabled on the device.
    let fp16Enabled: Bool
    private let memory: VkPhysicalDeviceMemoryProperties

    init(instance: VulkanInstance, index: Int) throws {
        guard instance.physicalDevices.indices.contains(index) else {
            throw InferenceError(
                .noDevice,
                "there is no Vulkan device gpu:\(index) (this machine has "
                    + "\(instance.physicalDevices.count))")
        }
        self.instance = instance
        info = instance.describe(index)
        let physical = instance.physicalDevices[index]
        self.physical = physical
        let fn = instance.functions

        var familyCount: UInt32 = 0
        fn.getPhysicalDeviceQueueFamilyProperties(physical, &familyCount, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(familyCount))
        fn.getPhysicalDeviceQueueFamilyProperties(physical, &familyCount, &families)
        // Prefer a compute-only family (a dedicated compute engine on discrete GPUs), then any with compute.
        let compute = VK_QUEUE_COMPUTE_BIT.rawValue, graphics = VK_QUEUE_GRAPHICS_BIT.rawValue
        guard
            let family = families.indices.first(where: {
                families[$0].queueFlags & compute != 0 && families[$0].queueFlags & graphics == 0
            }) ?? families.indices.first(where: { families[$0].queueFlags & compute != 0 })
        else {
            throw InferenceError(.noDevice, "Vulkan device \(info.name) has no compute queue")
        }

        let extensions = instance.extensions(of: physical)
        var wanted: [String] = []
        let fp16 = info.fp16
        if fp16 {
            for name in ["VK_KHR_16bit_storage", "VK_KHR_shader_float16_int8", "VK_KHR_storage_buffer_storage_class"]
            where extensions.contains(name) { wanted.append(name) }
        }
        var created: VkDevice?
        var priority: Float = 1
        let cNames = wanted.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        var storage = VkPhysicalDevice16BitStorageFeatures()
        storage.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES
        storage.storageBuffer16BitAccess = fp16 ? VK_TRUE : VK_FALSE
        var arithmetic = VkPhysicalDeviceShaderFloat16Int8Features()
        arithmetic.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES
        arithmetic.shaderFloat16 = fp16 ? VK_TRUE : VK_FALSE
        let result: VkResult = withUnsafeMutablePointer(to: &storage) { storagePointer in
            arithmetic.pNext = UnsafeMutableRawPointer(storagePointer)
            return withUnsafeMutablePointer(to: &arithmetic) { arithmeticPointer in
                withUnsafePointer(to: &priority) { priorityPointer in
                    var queueInfo = VkDeviceQueueCreateInfo()
                    queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
                    queueInfo.queueFamilyIndex = UInt32(family)
                    queueInfo.queueCount = 1
                    queueInfo.pQueuePriorities = priorityPointer
                    return withUnsafePointer(to: &queueInfo) { queuePointer in
                        cNames.map { UnsafePointer<CChar>($0) }.withUnsafeBufferPointer { names in
                            var deviceInfo = VkDeviceCreateInfo()
                            deviceInfo.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                            deviceInfo.pNext = fp16 ? UnsafeRawPointer(arithmeticPointer) : nil
                            deviceInfo.queueCreateInfoCount = 1
                            deviceInfo.pQueueCreateInfos = queuePointer
                            deviceInfo.enabledExtensionCount = UInt32(names.count)
                            deviceInfo.ppEnabledExtensionNames = names.baseAddress
                            return fn.createDevice(physical, &deviceInfo, nil, &created)
                        }
                    }
                }
            }
        }
        try check(result, "vkCreateDevice")
        guard let created else { throw InferenceError(.noDevice, "vkCreateDevice returned no device") }
        let vk: DeviceFunctions
        do {
            vk = try DeviceFunctions(fn, created)
        } catch {
            if let destroy = fn.getDeviceProcAddr(created, "vkDestroyDevice") {
                unsafeBitCast(destroy, to: PFN_vkDestroyDevice.self)(created, nil)
            }
            throw error
        }
        var q: VkQueue?
        vk.getDeviceQueue(created, UInt32(family), 0, &q)
        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue
        poolInfo.queueFamilyIndex = UInt32(family)
        var pool: VkCommandPool?
        let poolResult = vk.createCommandPool(created, &poolInfo, nil, &pool)
        guard let q, poolResult == VK_SUCCESS, let pool else {
            vk.destroyDevice(created, nil)
            try check(poolResult, "vkCreateCommandPool")
            throw InferenceError(.noDevice, "Vulkan device \(info.name) gave no queue")
        }
        device = created
        fp16Enabled = fp16
        self.vk = vk
        queue = q
        commandPool = pool
        var properties = VkPhysicalDeviceMemoryProperties()
        fn.getPhysicalDeviceMemoryProperties(physical, &properties)
        memory = properties
    }

    deinit {
        _ = vk.deviceWaitIdle(device)
        vk.destroyCommandPool(device, commandPool, nil)
        vk.destroyDevice(device, nil)
    }

    /// A memory type allowed by `typeBits` with all of `required`, preferring one that also has `preferred`.
    func memoryType(_ typeBits: UInt32, required: VkMemoryPropertyFlags, preferred: VkMemoryPropertyFlags = 0)
        -> UInt32?
    {
        let types = withUnsafeBytes(of: memory.memoryTypes) {
            Array($0.bindMemory(to: VkMemoryType.self).prefix(Int(memory.memoryTypeCount)))
        }
        let allowed = types.indices.filter {
            typeBits & (1 << UInt32($0)) != 0 && types[$0].propertyFlags & required == required
        }
        let best = allowed.first { types[$0].propertyFlags & preferred == preferred } ?? allowed.first
        return best.map(UInt32.init)
    }
}
