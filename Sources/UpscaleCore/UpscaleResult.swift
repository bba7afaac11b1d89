public import Imaging

/// What an upscale produced.
public struct UpscaleResult: Sendable {
    /// The input's size, upright (after EXIF orientation) and before any shrinking to the input side limit.
    public let inputWidth: Int
    public let inputHeight: Int
    public let outputWidth: Int
    public let outputHeight: Int
    public let format: ImageFormat
    public let model: String
    /// Where the model ran: `cpu` or `gpu:N` (see ``ComputeTarget/label``).
    public let device: String
    /// Seconds per named step, in order.
    public let timings: [(step: String, seconds: Double)]
    /// Things the caller should tell the user, e.g. that the input was shrunk first.
    public let warnings: [String]
}
