/// Arithmetic precision of the convolutions.
public enum Precision: String, Sendable, CaseIterable {
    /// Full fp32: the CPU's default, within 1e-4 of the reference kernels.
    case fp32
    /// bf16 inputs and weights with fp32 accumulation, on CPUs with AVX512-BF16: faster, with a stated error.
    case bf16
    /// fp16 storage of activations and weights, fp16 products summed in slices into fp32 totals, on GPUs with 16-bit
    /// storage and `shaderFloat16`.
    case fp16
}
