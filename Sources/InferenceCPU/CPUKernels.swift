import Foundation
import Inference

/// Which kernels the CPU engine runs its 3x3 convolutions on.
public enum CPUKernels: String, Sendable, CaseIterable {
    /// The engine's own Winograd kernels where the CPU has them (AVX-512; bf16 also needs AVX-512 BF16), oneDNN for
    /// everything else.
    case auto
    /// oneDNN only: what a CPU without AVX-512 runs. Forcing it tests that path on any machine.
    case onednn
    /// The engine's own Winograd kernels for every layer they accept (as `auto` on a CPU with AVX-512, where they are
    /// also faster in fp32).
    case winograd

    /// `UPSCALER_CPU_KERNELS`, or `auto` when it is unset or empty.
    public static func fromEnvironment() throws -> CPUKernels {
        let value = ProcessInfo.processInfo.environment["UPSCALER_CPU_KERNELS"] ?? ""
        if value.isEmpty { return .auto }
        guard let kernels = CPUKernels(rawValue: value) else {
            throw InferenceError(
                .invalidSetting,
                "UPSCALER_CPU_KERNELS must be one of \(allCases.map(\.rawValue).joined(separator: ", ")), not \(value)")
        }
        return kernels
    }
}
