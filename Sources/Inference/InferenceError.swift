/// An error from reading or running a network.
///
/// `message` is one line that is safe to show a user; `detail` carries the library text for logs.
public struct InferenceError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is, for callers that branch on it.
    public enum Code: Sendable, Equatable {
        case malformedModel
        case unsupportedOperation
        case shapeMismatch
        case backendFailure
        /// A precision the chosen device does not run (bf16 on a GPU, fp16 on the CPU or on a GPU without it).
        case unsupportedPrecision
        /// No device of the kind asked for: no Vulkan loader, driver or device, or no shader compiler.
        case noDevice
        /// The GPU was lost mid-run (driver reset, hang, removal).
        case deviceLost
        /// The GPU could not allocate what a tile needs.
        case outOfDeviceMemory
        /// An engine setting (such as `UPSCALER_CPU_KERNELS`) has a value the engine does not know.
        case invalidSetting
    }

    public let code: Code
    public let message: String
    public let detail: String

    package init(_ code: Code, _ message: String, detail: String = "") {
        self.code = code
        self.message = message
        self.detail = detail
    }

    public var description: String { message }
}
