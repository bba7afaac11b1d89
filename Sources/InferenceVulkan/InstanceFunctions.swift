import CVulkan
import Inference

/// Instance-level functions, resolved once per `VkInstance`.
struct InstanceFunctions: @unchecked Sendable {
    let destroyInstance: PFN_vkDestroyInstance
    let enumeratePhysicalDevices: PFN_vkEnumeratePhysicalDevices
    let getPhysicalDeviceProperties: PFN_vkGetPhysicalDeviceProperties
    let getPhysicalDeviceFeatures2: PFN_vkGetPhysicalDeviceFeatures2
    let getPhysicalDeviceMemoryProperties: PFN_vkGetPhysicalDeviceMemoryProperties
    let getPhysicalDeviceMemoryProperties2: PFN_vkGetPhysicalDeviceMemoryProperties2
    let getPhysicalDeviceQueueFamilyProperties: PFN_vkGetPhysicalDeviceQueueFamilyProperties
    let enumerateDeviceExtensionProperties: PFN_vkEnumerateDeviceExtensionProperties
    let createDevice: PFN_vkCreateDevice
    let getDeviceProcAddr: PFN_vkGetDeviceProcAddr

    init(_ library: VulkanLibrary, _ instance: VkInstance) throws {
        func load<F>(_ name: String) throws -> F {
            guard let f = library.getInstanceProcAddr(instance, name) else {
                throw InferenceError(.noDevice, "the Vulkan driver lacks \(name) (Vulkan 1.1 is required)")
            }
            return unsafeBitCast(f, to: F.self)
        }
        destroyInstance = try load("vkDestroyInstance")
        enumeratePhysicalDevices = try load("vkEnumeratePhysicalDevices")
        getPhysicalDeviceProperties = try load("vkGetPhysicalDeviceProperties")
        getPhysicalDeviceFeatures2 = try load("vkGetPhysicalDeviceFeatures2")
        getPhysicalDeviceMemoryProperties = try load("vkGetPhysicalDeviceMemoryProperties")
        getPhysicalDeviceMemoryProperties2 = try load("vkGetPhysicalDeviceMemoryProperties2")
        getPhysicalDeviceQueueFamilyProperties = try load("vkGetPhysicalDeviceQueueFamilyProperties")
        enumerateDeviceExtensionProperties = try load("vkEnumerateDeviceExtensionProperties")
        createDevice = try load("vkCreateDevice")
        getDeviceProcAddr = try load("vkGetDeviceProcAddr")
    }
}
