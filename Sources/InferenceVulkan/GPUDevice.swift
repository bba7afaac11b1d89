/// One Vulkan device as this machine reports it, for listing and for choosing where to run.
public struct GPUDevice: Sendable, Hashable, CustomStringConvertible {
    /// What kind of device the driver says this is. `cpu` is a software driver such as Mesa's lavapipe.
    public enum Kind: String, Sendable {
        case discrete, integrated, virtual, cpu, other
    }

    /// Position in the driver's enumeration: the `N` of `--device gpu:N`.
    public let index: Int
    public let name: String
    public let kind: Kind
    /// The largest device-local memory heap, in bytes.
    public let memoryBytes: UInt64
    /// What the driver lets this process allocate now (`VK_EXT_memory_budget`), or the heap size where the driver
    /// does not say.
    public let budgetBytes: UInt64
    /// The largest storage buffer one shader may address (`maxStorageBufferRange`).
    public let maxBufferBytes: UInt64
    /// The device stores and computes in fp16 (`shaderFloat16` and 16-bit storage buffers).
    public let fp16: Bool
    /// Vulkan version the device supports, e.g. `1.3.239`.
    public let apiVersion: String

    public init(
        index: Int, name: String, kind: Kind, memoryBytes: UInt64, budgetBytes: UInt64, maxBufferBytes: UInt64,
        fp16: Bool, apiVersion: String
    ) {
        self.index = index
        self.name = name
        self.kind = kind
        self.memoryBytes = memoryBytes
        self.budgetBytes = budgetBytes
        self.maxBufferBytes = maxBufferBytes
        self.fp16 = fp16
        self.apiVersion = apiVersion
    }

    public var description: String {
        let mib = memoryBytes / (1 << 20)
        return "gpu:\(index) \(name) (\(kind.rawValue), \(mib) MiB, fp16 \(fp16 ? "yes" : "no"), Vulkan \(apiVersion))"
    }
}
