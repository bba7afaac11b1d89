public import Imaging
public import Inference
public import InferenceCPU

/// How an alpha plane is enlarged.
public enum AlphaUpsampler: String, CaseIterable, Sendable {
    /// Lanczos resize: fast, and exact for hard edges up to ringing.
    case lanczos
    /// Through the model as a grey image, as upstream Real-ESRGAN's `--alpha_upsampler realesrgan` does: sharper soft
    /// edges, and twice the model time.
    case model
}

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

    public init(model: String = ModelCatalog.defaultModel, scale: Double? = nil, format: ImageFormat? = nil,
                quality: Int = 95, tiling: TilingOptions = TilingOptions(),
                threads: Int = EngineOptions.defaultThreadCount, precision: Precision? = nil,
                limits: ImageLimits = .default) {
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
        if let scale, !(scale > 0 && scale <= 16) { throw bad("scale must be between 0 and 16, got \(scale)") }
        if scale != nil && (fitWidth != nil || fitHeight != nil) { throw bad("give either a scale or a width/height, not both") }
        for (name, side) in [("width", fitWidth), ("height", fitHeight)] {
            if let side, !(1...16384).contains(side) { throw bad("\(name) must be 1...16384, got \(side)") }
        }
        guard (1...100).contains(quality) else { throw bad("quality must be 1...100, got \(quality)") }
        guard (0...9).contains(pngCompression) else { throw bad("PNG compression must be 0...9, got \(pngCompression)") }
        if let maxInputSide, maxInputSide < 16 { throw bad("the input side limit must be at least 16, got \(maxInputSide)") }
        guard limits.maxPixels >= 1, limits.maxFileBytes >= 1 else { throw bad("limits must be positive") }
        guard tiling.tile >= 16 else { throw bad("tile must be at least 16 pixels, got \(tiling.tile)") }
        guard tiling.overlap >= 0, tiling.overlap * 2 <= tiling.tile else {
            throw bad("tile overlap must be between 0 and half the tile (\(tiling.tile / 2)), got \(tiling.overlap)")
        }
        guard tiling.pad >= 0, tiling.pad <= 64 else { throw bad("pad must be 0...64, got \(tiling.pad)") }
        guard threads >= 1 else { throw bad("threads must be at least 1") }
    }
}
