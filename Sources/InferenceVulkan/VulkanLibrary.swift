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
        guard
            let handle = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL)
                ?? dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL),
            let symbol = dlsym(handle, "vkGetInstanceProcAddr")
        else {
            return .failure(
                InferenceError(
                    .noDevice,
                    "no Vulkan loader (libvulkan.so.1) on this machine: install the "
                        + "GPU driver's Vulkan support (Debian: libvulkan1)"))
        }
        let getProc = unsafeBitCast(symbol, to: PFN_vkGetInstanceProcAddr.self)
        guard let create: PFN_vkCreateInstance = globalFunction(getProc, "vkCreateInstance") else {
            return .failure(InferenceError(.noDevice, "the Vulkan loader has no vkCreateInstance"))
        }
        return .success(
            VulkanLibrary(
                getInstanceProcAddr: getProc, createInstance: create,
                enumerateInstanceVersion: globalFunction(getProc, "vkEnumerateInstanceVersion")))
    }

    private static func globalFunction<F>(_ getProc: PFN_vkGetInstanceProcAddr, _ name: String) -> F? {
        guard let f = getProc(nil, name) else { return nil }
        return unsafeBitCast(f, to: F.self)
    }
}
