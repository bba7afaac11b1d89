/// The allowed range of every upscale option, defined once for the command line, the API and the pipeline, so a
/// value one of them accepts is never refused by another.
public enum OptionBounds {
    /// Output scale: above 0 and at most this.
    public static let maxScale = 16.0
    /// `--width` / `--height` of a fitted output, in pixels.
    public static let fitSide = 1...16_384
    /// JPEG and WebP quality.
    public static let quality = 1...100
    /// PNG zlib level.
    public static let pngCompression = 0...9
    /// Tile edge in input pixels: below 16 the model sees too little context; above 1024 one tile's buffers pass
    /// several gigabytes.
    public static let tile = 16...1_024
    /// Reflection padding around the image, in input pixels.
    public static let pad = 0...64
    /// `--denoise`: the weight of the strong-denoise network against its weak-denoise companion.
    public static let denoise = 0.0...1.0
    /// The smallest input side limit (`--max-input-side`).
    public static let minInputSide = 16

    /// Whether `scale` is within ``maxScale`` (and above 0).
    public static func allows(scale: Double) -> Bool { scale > 0 && scale <= maxScale }

    /// "16-1024": how messages print a range.
    public static func text(_ range: ClosedRange<Int>) -> String { "\(range.lowerBound)-\(range.upperBound)" }
}
