import CVulkan
import Glibc
import Inference

/// The Vulkan loader, opened at run time.
///
/// Linking `libvulkan` would make the whole binary refuse to start on a machine without the loader, although the CPU
/// engine needs none of it. Opening it here turns "no loader" into an error a caller can report in one line.
struct VulkanLibrary: @unchecked Sendable {
    // The raw handle and function pointers are immutable after loading, and the loader is thread-safe.
    let getInstanceProcAddr: PFN_vkGetInstanceProcAddr
    let createInstance: PFN_vkCreateInstance
    let enumerateInstanceVersion: PFN_vkEnumerateInstanceVersion?

    /// The loader, once per process; `nil` with the reason when it cannot be opened.
    static let shared: Result<VulkanLibrary, InferenceError> = load()

    private static func load() -> Result<VulkanLibrary, InferenceError> {
        guard let handle = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL) ?? dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL),
              let symbol = dlsym(handle, "vkGetInstanceProcAddr") else {
            return .failure(InferenceError(.noDevice, "no Vulkan loader (libvulkan.so.1) on this machine: install the "
                                           + "GPU driver's Vulkan support (Debian: libvulkan1)"))
        }
        let getProc = unsafeBitCast(symbol, to: PFN_vkGetInstanceProcAddr.self)
        guard let create: PFN_vkCreateInstance = globalFunction(getProc, "vkCreateInstance") else {
            return .failure(InferenceError(.noDevice, "the Vulkan loader has no vkCreateInstance"))
        }
        return .success(VulkanLibrary(getInstanceProcAddr: getProc, createInstance: create,
                                      enumerateInstanceVersion: globalFunction(getProc, "vkEnumerateInstanceVersion")))
    }

    private static func globalFunction<F>(_ getProc: PFN_vkGetInstanceProcAddr, _ name: String) -> F? {
        guard let f = getProc(nil, name) else { return nil }
        return unsafeBitCast(f, to: F.self)
    }
}

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

/// Device-level functions, resolved once per `VkDevice` (skipping the loader's dispatch).
struct DeviceFunctions: @unchecked Sendable {
    let destroyDevice: PFN_vkDestroyDevice
    let getDeviceQueue: PFN_vkGetDeviceQueue
    let createBuffer: PFN_vkCreateBuffer
    let destroyBuffer: PFN_vkDestroyBuffer
    let getBufferMemoryRequirements: PFN_vkGetBufferMemoryRequirements
    let allocateMemory: PFN_vkAllocateMemory
    let freeMemory: PFN_vkFreeMemory
    let bindBufferMemory: PFN_vkBindBufferMemory
    let mapMemory: PFN_vkMapMemory
    let unmapMemory: PFN_vkUnmapMemory
    let invalidateMappedMemoryRanges: PFN_vkInvalidateMappedMemoryRanges
    let flushMappedMemoryRanges: PFN_vkFlushMappedMemoryRanges
    let createShaderModule: PFN_vkCreateShaderModule
    let destroyShaderModule: PFN_vkDestroyShaderModule
    let createDescriptorSetLayout: PFN_vkCreateDescriptorSetLayout
    let destroyDescriptorSetLayout: PFN_vkDestroyDescriptorSetLayout
    let createPipelineLayout: PFN_vkCreatePipelineLayout
    let destroyPipelineLayout: PFN_vkDestroyPipelineLayout
    let createComputePipelines: PFN_vkCreateComputePipelines
    let destroyPipeline: PFN_vkDestroyPipeline
    let createDescriptorPool: PFN_vkCreateDescriptorPool
    let destroyDescriptorPool: PFN_vkDestroyDescriptorPool
    let allocateDescriptorSets: PFN_vkAllocateDescriptorSets
    let updateDescriptorSets: PFN_vkUpdateDescriptorSets
    let createCommandPool: PFN_vkCreateCommandPool
    let destroyCommandPool: PFN_vkDestroyCommandPool
    let allocateCommandBuffers: PFN_vkAllocateCommandBuffers
    let freeCommandBuffers: PFN_vkFreeCommandBuffers
    let beginCommandBuffer: PFN_vkBeginCommandBuffer
    let endCommandBuffer: PFN_vkEndCommandBuffer
    let cmdBindPipeline: PFN_vkCmdBindPipeline
    let cmdBindDescriptorSets: PFN_vkCmdBindDescriptorSets
    let cmdPushConstants: PFN_vkCmdPushConstants
    let cmdDispatch: PFN_vkCmdDispatch
    let cmdPipelineBarrier: PFN_vkCmdPipelineBarrier
    let cmdCopyBuffer: PFN_vkCmdCopyBuffer
    let cmdFillBuffer: PFN_vkCmdFillBuffer
    let createFence: PFN_vkCreateFence
    let destroyFence: PFN_vkDestroyFence
    let resetFences: PFN_vkResetFences
    let waitForFences: PFN_vkWaitForFences
    let queueSubmit: PFN_vkQueueSubmit
    let deviceWaitIdle: PFN_vkDeviceWaitIdle

    init(_ instance: InstanceFunctions, _ device: VkDevice) throws {
        func load<F>(_ name: String) throws -> F {
            guard let f = instance.getDeviceProcAddr(device, name) else {
                throw InferenceError(.noDevice, "the Vulkan driver lacks \(name)")
            }
            return unsafeBitCast(f, to: F.self)
        }
        destroyDevice = try load("vkDestroyDevice")
        getDeviceQueue = try load("vkGetDeviceQueue")
        createBuffer = try load("vkCreateBuffer")
        destroyBuffer = try load("vkDestroyBuffer")
        getBufferMemoryRequirements = try load("vkGetBufferMemoryRequirements")
        allocateMemory = try load("vkAllocateMemory")
        freeMemory = try load("vkFreeMemory")
        bindBufferMemory = try load("vkBindBufferMemory")
        mapMemory = try load("vkMapMemory")
        unmapMemory = try load("vkUnmapMemory")
        invalidateMappedMemoryRanges = try load("vkInvalidateMappedMemoryRanges")
        flushMappedMemoryRanges = try load("vkFlushMappedMemoryRanges")
        createShaderModule = try load("vkCreateShaderModule")
        destroyShaderModule = try load("vkDestroyShaderModule")
        createDescriptorSetLayout = try load("vkCreateDescriptorSetLayout")
        destroyDescriptorSetLayout = try load("vkDestroyDescriptorSetLayout")
        createPipelineLayout = try load("vkCreatePipelineLayout")
        destroyPipelineLayout = try load("vkDestroyPipelineLayout")
        createComputePipelines = try load("vkCreateComputePipelines")
        destroyPipeline = try load("vkDestroyPipeline")
        createDescriptorPool = try load("vkCreateDescriptorPool")
        destroyDescriptorPool = try load("vkDestroyDescriptorPool")
        allocateDescriptorSets = try load("vkAllocateDescriptorSets")
        updateDescriptorSets = try load("vkUpdateDescriptorSets")
        createCommandPool = try load("vkCreateCommandPool")
        destroyCommandPool = try load("vkDestroyCommandPool")
        allocateCommandBuffers = try load("vkAllocateCommandBuffers")
        freeCommandBuffers = try load("vkFreeCommandBuffers")
        beginCommandBuffer = try load("vkBeginCommandBuffer")
        endCommandBuffer = try load("vkEndCommandBuffer")
        cmdBindPipeline = try load("vkCmdBindPipeline")
        cmdBindDescriptorSets = try load("vkCmdBindDescriptorSets")
        cmdPushConstants = try load("vkCmdPushConstants")
        cmdDispatch = try load("vkCmdDispatch")
        cmdPipelineBarrier = try load("vkCmdPipelineBarrier")
        cmdCopyBuffer = try load("vkCmdCopyBuffer")
        cmdFillBuffer = try load("vkCmdFillBuffer")
        createFence = try load("vkCreateFence")
        destroyFence = try load("vkDestroyFence")
        resetFences = try load("vkResetFences")
        waitForFences = try load("vkWaitForFences")
        queueSubmit = try load("vkQueueSubmit")
        deviceWaitIdle = try load("vkDeviceWaitIdle")
    }
}

/// Turns a failed `VkResult` into an `InferenceError` at the call, naming the call for the log.
func check(_ result: VkResult, _ call: @autoclosure () -> String) throws {
    guard result != VK_SUCCESS else { return }
    switch result {
    case VK_ERROR_OUT_OF_DEVICE_MEMORY, VK_ERROR_OUT_OF_HOST_MEMORY:
        throw InferenceError(.outOfDeviceMemory, "the GPU ran out of memory; try a smaller --tile",
                             detail: "\(call()) returned \(result.rawValue)")
    case VK_ERROR_DEVICE_LOST:
        throw InferenceError(.deviceLost, "the GPU was lost (driver reset or hang); the job can be retried",
                             detail: "\(call()) returned VK_ERROR_DEVICE_LOST")
    case VK_ERROR_INCOMPATIBLE_DRIVER, VK_ERROR_INITIALIZATION_FAILED:
        throw InferenceError(.noDevice, "no usable Vulkan driver (\(call()) failed)",
                             detail: "\(call()) returned \(result.rawValue)")
    default:
        throw InferenceError(.backendFailure, "Vulkan call \(call()) failed with code \(result.rawValue)",
                             detail: "\(call()) returned \(result.rawValue)")
    }
}
