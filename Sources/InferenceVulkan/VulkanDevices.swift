public import Inference

/// The machine's Vulkan devices, and the rule for which one `--device` names.
public enum VulkanDevices {
    /// Every device the Vulkan driver reports, in its order. Throws one clear line when there is no loader or driver.
    public static func list() throws -> [GPUDevice] {
        let instance = try VulkanInstance()
        return instance.physicalDevices.indices.map(instance.describe)
    }

    /// The devices, or none when Vulkan itself is missing (for `auto`, which then runs on the CPU).
    public static func listIfAvailable() -> [GPUDevice] {
        (try? list()) ?? []
    }

    /// The GPU a choice names, or `nil` for the CPU.
    ///
    /// `auto` takes a discrete GPU, then an integrated one, and never a software driver such as lavapipe, which is
    /// slower than the CPU engine. `gpu` takes the best device there is, a software one included (so the GPU code
    /// runs where there is no GPU, as in CI). `gpu:N` takes device N.
    public static func resolve(_ choice: DeviceChoice, among devices: [GPUDevice]) throws -> GPUDevice? {
        let rank: [GPUDevice.Kind: Int] = [.discrete: 0, .integrated: 1, .virtual: 2, .other: 3, .cpu: 4]
        let ranked = devices.sorted { (rank[$0.kind]!, $0.index) < (rank[$1.kind]!, $1.index) }
        switch choice {
        case .cpu:
            return nil
        case .auto:
            return ranked.first { $0.kind == .discrete || $0.kind == .integrated }
        case .gpu(nil):
            guard let best = ranked.first else {
                throw InferenceError(
                    .noDevice, "no Vulkan device found: install the GPU's Vulkan driver, or use --device cpu")
            }
            return best
        case .gpu(let index?):
            guard let device = devices.first(where: { $0.index == index }) else {
                throw InferenceError(
                    .noDevice,
                    "there is no Vulkan device gpu:\(index) (found \(devices.count)); "
                        + "`upscaler devices` lists them")
            }
            return device
        }
    }
}
