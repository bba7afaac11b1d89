import CVulkan
import Inference

/// Turns a failed `VkResult` into an `InferenceError` at the call, naming the call for the log.
func check(_ result: VkResult, _ call: @autoclosure () -> String) throws {
    guard result != VK_SUCCESS else { return }
    switch result {
    case VK_ERROR_OUT_OF_DEVICE_MEMORY, VK_ERROR_OUT_OF_HOST_MEMORY:
        throw InferenceError(
            .outOfDeviceMemory, "the GPU ran out of memory; try a smaller --tile",
            detail: "\(call()) returned \(result.rawValue)")
    case VK_ERROR_DEVICE_LOST:
        throw InferenceError(
            .deviceLost, "the GPU was lost (driver reset or hang); the job can be retried",
            detail: "\(call()) returned VK_ERROR_DEVICE_LOST")
    case VK_ERROR_INCOMPATIBLE_DRIVER, VK_ERROR_INITIALIZATION_FAILED:
        throw InferenceError(
            .noDevice,
            "no usable Vulkan driver (\(call()) failed): install the GPU's Vulkan driver, "
                + "or use --device cpu",
            detail: "\(call()) returned \(result.rawValue)")
    default:
        throw InferenceError(
            .backendFailure, "Vulkan call \(call()) failed with code \(result.rawValue)",
            detail: "\(call()) returned \(result.rawValue)")
    }
}
