public import Imaging
public import Inference
public import InferenceCPU

/// Everything that shapes one upscale, independent of where the image comes from.
public struct UpscaleOptions: Sendable {
    /// Canonical model name, e.g. `realesrgan-x4plus`.
    public var model: String
    /// Output size relative to the input, above 0 and at most 16. `nil` means the model's native scale. Above the
    /// native scale the model runs twice (see `Upscaler`).
    public var scale: Double?
    /// Fit the output into this width and/or height, keeping the aspect ratio (instead of `scale`).
    public var fitWidth: Int?
    public var fitHeight: Int?
    /// Output format; `nil` means "from the output file name", falling back to PNG.
    public var format: ImageFormat?
    /// What a transparent image is flattened onto when the output format has no alpha (JPEG): RGB in [0, 1].
    public var background: SIMD3<Float> = SIMD3(1, 1, 1)
    /// JPEG and WebP quality, 1...100.
    public var quality: Int
    /// PNG zlib level, 0...9 (lossless either way; higher is smaller and slower).
    public var pngCompression = 6
    /// Progressive JPEG.
    public var progressive = false
    /// Lossless WebP.
    public var lossless = false
    /// Convert the output back to the input's ICC profile (and attach it) instead of writing sRGB with an sRGB profile.
    public var keepProfile = false
    /// Drop EXIF, XMP and IPTC instead of carrying them over (they are kept by default, minus orientation and the
    /// EXIF thumbnail).
    public var stripMetadata = false
    /// How alpha is enlarged.
    public var alphaUpsampler: AlphaUpsampler = .lanczos
    /// Denoise strength, 0 to 1: the model's weights blended with its weak-denoise companion's
    /// (``ModelStore/denoiseCompanion(of:)``), 1 being the model alone. Nil runs the model as it is.
    public var denoise: Double?
    /// Inputs whose longest side is above this are first shrunk to it (with a warning) when the scale is above 2, as
    /// the service this replaces did; `nil` turns that off. Above 2x the model's work and the output grow fast, and
    /// 2048 px at 4x is already an 8192 px output.
    public var maxInputSide: Int? = UpscaleOptions.defaultMaxInputSide
    public static let defaultMaxInputSide = 2048
    public var tiling: TilingOptions
    /// Let the device choose the tile edge: the CPU keeps `tiling.tile`, a GPU takes the largest tile its memory
    /// holds. Set when the user named no tile.
    public var autoTile = false
    public var threads: Int
    /// `nil` is the device's own default: fp32 on the CPU, fp16 on a GPU that has it.
    public var precision: Precision?
    /// Where the model runs.
    public var device: DeviceChoice = .auto
    /// When the GPU fails (lost, out of memory, no driver), run the image on the CPU instead of failing it.
    public var cpuFallback = false
    public var limits: ImageLimits

    public init(
        model: String = ModelCatalog.defaultModel, scale: Double? = nil, format: ImageFormat? = nil,
        quality: Int = 95, tiling: TilingOptions = TilingOptions(),
        threads: Int = EngineOptions.defaultThreadCount, precision: Precision? = nil,
        limits: ImageLimits = .default
    ) {
        self.model = model
        self.scale = scale
        self.format = format
        self.quality = quality
        self.tiling = tiling
        self.threads = threads
        self.precision = precision
        self.limits = limits
    }

    /// Parses a background colour: `#rrggbb` (or `rrggbb`), `white` or `black`.
    public static func parseColour(_ text: String) -> SIMD3<Float>? {
        switch text.lowercased() {
        case "white": return SIMD3(1, 1, 1)
        case "black": return SIMD3(0, 0, 0)
        default:
            let hex = text.hasPrefix("#") ? String(text.dropFirst()) : text
            guard hex.count == 6, let value = UInt32(hex, radix: 16) else { return nil }
            return SIMD3(Float((value >> 16) & 0xFF), Float((value >> 8) & 0xFF), Float(value & 0xFF)) / 255
        }
    }

    /// Checks option values that do not depend on the image, before any expensive work.
    public func validate() throws {
        func bad(_ message: String) -> UpscaleError { UpscaleError(.invalidOption, message) }
        if let scale, !OptionBounds.allows(scale: scale) {
            throw bad("scale must be above 0 and at most \(Int(OptionBounds.maxScale)), got \(scale)")
        }
        if scale != nil && (fitWidth != nil || fitHeight != nil) {
            throw bad("give either a scale or a width/height, not both")
        }
        for (name, side) in [("width", fitWidth), ("height", fitHeight)] {
            if let side, !OptionBounds.fitSide.contains(side) {
                throw bad("\(name) must be \(OptionBounds.text(OptionBounds.fitSide)), got \(side)")
            }
        }
        guard OptionBounds.quality.contains(quality) else {
            throw bad("quality must be \(OptionBounds.text(OptionBounds.quality)), got \(quality)")
        }
        guard OptionBounds.pngCompression.contains(pngCompression) else {
            throw bad(
                "PNG compression must be \(OptionBounds.text(OptionBounds.pngCompression)), got \(pngCompression)")
        }
        if let denoise, !OptionBounds.denoise.contains(denoise) {
            throw bad("denoise strength must be 0 to 1, got \(denoise)")
        }
        if let maxInputSide, maxInputSide < OptionBounds.minInputSide {
            throw bad("the input side limit must be at least \(OptionBounds.minInputSide), got \(maxInputSide)")
        }
        guard limits.maxPixels >= 1, limits.maxFileBytes >= 1 else { throw bad("limits must be positive") }
        guard OptionBounds.tile.contains(tiling.tile) else {
            throw bad("tile must be \(OptionBounds.text(OptionBounds.tile)) pixels, got \(tiling.tile)")
        }
        guard tiling.overlap >= 0, tiling.overlap * 2 <= tiling.tile else {
            throw bad("tile overlap must be between 0 and half the tile (\(tiling.tile / 2)), got \(tiling.overlap)")
        }
        guard OptionBounds.pad.contains(tiling.pad) else {
            throw bad("pad must be \(OptionBounds.text(OptionBounds.pad)), got \(tiling.pad)")
        }
        guard threads >= 1 else { throw bad("threads must be at least 1") }
    }
}
