public import Inference
public import InferenceVulkan

/// Where a model runs, once `--device` has been resolved against the machine.
public enum ComputeTarget: Sendable, Hashable, CustomStringConvertible {
    case cpu
    case gpu(GPUDevice)

    /// Short and stable, for metrics labels and job timings: `cpu` or `gpu:N`.
    public var label: String {
        switch self {
        case .cpu: return "cpu"
        case .gpu(let device): return "gpu:\(device.index)"
        }
    }

    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .gpu(let device): return "gpu:\(device.index) (\(device.name))"
        }
    }

    /// Resolves a choice on this machine. `auto` never fails: without a usable GPU it is the CPU.
    public static func resolve(_ choice: DeviceChoice) throws -> ComputeTarget {
        switch choice {
        case .cpu:
            return .cpu
        case .auto:
            guard let gpu = try? VulkanDevices.resolve(.auto, among: VulkanDevices.listIfAvailable()) else {
                return .cpu
            }
            return .gpu(gpu)
        case .gpu:
            guard let device = try VulkanDevices.resolve(choice, among: try VulkanDevices.list()) else { return .cpu }
            return .gpu(device)
        }
    }
}
