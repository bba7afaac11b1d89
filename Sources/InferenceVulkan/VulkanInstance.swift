import CVulkan
import Inference

/// A `VkInstance` with its functions. Shared by the contexts made from it, and destroyed with the last of them.
final class VulkanInstance: @unchecked Sendable {
    // Immutable after init; Vulkan instances may be used from any thread for the calls made here.
    let handle: VkInstance
    let functions: InstanceFunctions
    let physicalDevices: [VkPhysicalDevice]

    init() throws {
        let library = try VulkanLibrary.shared.get()
        var instance: VkInstance?
        let created: VkResult = "upscaler".withCString { appName in
            var app = VkApplicationInfo()
            app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
            app.pApplicationName = appName
            app.apiVersion = (1 << 22) | (2 << 12)  // VK_API_VERSION_1_2: 16-bit storage and fp16 are core there
            return withUnsafePointer(to: &app) { appPointer in
                var info = VkInstanceCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
                info.pApplicationInfo = appPointer
                return library.createInstance(&info, nil, &instance)
            }
        }
        try check(created, "vkCreateInstance")
        guard let instance else { throw InferenceError(.noDevice, "vkCreateInstance returned no instance") }
        do {
            functions = try InstanceFunctions(library, instance)
        } catch {
            if let destroy: PFN_vkDestroyInstance = library.getInstanceProcAddr(instance, "vkDestroyInstance")
                .map({ unsafeBitCast($0, to: PFN_vkDestroyInstance.self) })
            {
                destroy(instance, nil)
            }
            throw error
        }
        handle = instance
        var count: UInt32 = 0
        do {
            try check(functions.enumeratePhysicalDevices(instance, &count, nil), "vkEnumeratePhysicalDevices")
            var devices = [VkPhysicalDevice?](repeating: nil, count: Int(count))
            try check(functions.enumeratePhysicalDevices(instance, &count, &devices), "vkEnumeratePhysicalDevices")
            physicalDevices = devices.prefix(Int(count)).compactMap { $0 }
        } catch {
            functions.destroyInstance(instance, nil)
            throw error
        }
    }

    deinit { functions.destroyInstance(handle, nil) }

    /// The device extensions a physical device offers.
    func extensions(of device: VkPhysicalDevice) -> Set<String> {
        var count: UInt32 = 0
        guard functions.enumerateDeviceExtensionProperties(device, nil, &count, nil) == VK_SUCCESS else { return [] }
        var properties = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        guard functions.enumerateDeviceExtensionProperties(device, nil, &count, &properties) == VK_SUCCESS else {
            return []
        }
        return Set(
            properties.prefix(Int(count)).map { property in
                withUnsafeBytes(of: property.extensionName) {
                    String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
            })
    }

    /// Whether the device has 16-bit storage buffers and fp16 arithmetic.
    func supportsFP16(_ device: VkPhysicalDevice) -> Bool {
        var storage = VkPhysicalDevice16BitStorageFeatures()
        storage.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES
        var arithmetic = VkPhysicalDeviceShaderFloat16Int8Features()
        arithmetic.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES
        return withUnsafeMutablePointer(to: &storage) { storagePointer in
            arithmetic.pNext = UnsafeMutableRawPointer(storagePointer)
            return withUnsafeMutablePointer(to: &arithmetic) { arithmeticPointer in
                var features = VkPhysicalDeviceFeatures2()
                features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
                features.pNext = UnsafeMutableRawPointer(arithmeticPointer)
                functions.getPhysicalDeviceFeatures2(device, &features)
                return storagePointer.pointee.storageBuffer16BitAccess == VK_TRUE
                    && arithmeticPointer.pointee.shaderFloat16 == VK_TRUE
            }
        }
    }

    /// What the driver reports of device `index`.
    func describe(_ index: Int) -> GPUDevice {
        let device = physicalDevices[index]
        var properties = VkPhysicalDeviceProperties()
        functions.getPhysicalDeviceProperties(device, &properties)
        let name = withUnsafeBytes(of: properties.deviceName) {
            String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let kind: GPUDevice.Kind
        switch properties.deviceType {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: kind = .discrete
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: kind = .integrated
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: kind = .virtual
        case VK_PHYSICAL_DEVICE_TYPE_CPU: kind = .cpu
        default: kind = .other
        }
        let (heap, budget) = deviceLocalHeap(device)
        let version = properties.apiVersion
        return GPUDevice(
            index: index, name: name, kind: kind, memoryBytes: heap, budgetBytes: budget,
            maxBufferBytes: UInt64(properties.limits.maxStorageBufferRange),
            fp16: supportsFP16(device),
            apiVersion: "\(version >> 22).\((version >> 12) & 0x3FF).\(version & 0xFFF)")
    }

    /// The largest device-local heap and the budget the driver grants on it.
    private func deviceLocalHeap(_ device: VkPhysicalDevice) -> (size: UInt64, budget: UInt64) {
        var budget = VkPhysicalDeviceMemoryBudgetPropertiesEXT()
        budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT
        let hasBudget = extensions(of: device).contains("VK_EXT_memory_budget")
        var memory = VkPhysicalDeviceMemoryProperties2()
        memory.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2
        withUnsafeMutablePointer(to: &budget) { budgetPointer in
            if hasBudget { memory.pNext = UnsafeMutableRawPointer(budgetPointer) }
            functions.getPhysicalDeviceMemoryProperties2(device, &memory)
            memory.pNext = nil
        }
        let heaps = withUnsafeBytes(of: memory.memoryProperties.memoryHeaps) {
            Array($0.bindMemory(to: VkMemoryHeap.self).prefix(Int(memory.memoryProperties.memoryHeapCount)))
        }
        let budgets = withUnsafeBytes(of: budget.heapBudget) { Array($0.bindMemory(to: VkDeviceSize.self)) }
        var best: (UInt64, UInt64) = (0, 0)
        for (i, heap) in heaps.enumerated() where heap.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0 {
            if heap.size > best.0 {
                let granted = hasBudget && budgets[i] > 0 ? min(budgets[i], heap.size) : heap.size
                best = (heap.size, granted)
            }
        }
        if best.0 == 0, let first = heaps.first { best = (first.size, first.size) }
        return best
    }
}
