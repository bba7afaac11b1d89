/// How an alpha plane is enlarged.
public enum AlphaUpsampler: String, CaseIterable, Sendable {
    /// Lanczos resize: fast, and exact for hard edges up to ringing.
    case lanczos
    /// Through the model as a grey image, as upstream Real-ESRGAN's `--alpha_upsampler realesrgan` does: sharper soft
    /// edges, and twice the model time.
    case model
}
