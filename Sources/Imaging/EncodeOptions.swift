/// How ``Imaging/encode(_:options:)`` writes an image.
public struct EncodeOptions: Sendable {
    /// What colour profile the output carries.
    public enum ColourProfile: Sendable, Equatable {
        /// None: the pixels are sRGB, which is what readers assume without a profile.
        case none
        /// libvips' sRGB profile, attached to the sRGB pixels.
        case sRGB
        /// The pixels are converted from sRGB to this profile, which is attached. Its colour space decides the bands:
        /// an RGB profile gives RGB even when `gray` is set, a GRAY profile gives grey.
        case convert(to: [UInt8])
    }

    public var format: ImageFormat
    /// JPEG and lossy WebP quality, clamped to 1...100.
    public var quality: Int = 95
    /// PNG zlib level, 0 (fastest, largest) to 9 (slowest, smallest); clamped. Lossless either way.
    public var pngCompression: Int = 6
    /// Progressive (interlaced) JPEG.
    public var progressive = false
    /// Lossless WebP, which keeps every 8-bit value (even lossy WebP at quality 100 subsamples colour).
    public var lossless = false
    /// Write one luma band (Rec. 709 weights on the encoded values): a true grey PNG or JPEG. WebP has no grey form,
    /// so there it comes out as equal RGB channels.
    public var gray = false
    /// Write 16 bits per sample. Only PNG holds 16 bits; other formats ignore this and write 8.
    public var sixteenBit = false
    /// JPEG has no alpha: a transparent image is flattened onto this colour (RGB in [0, 1]) instead.
    public var background = SIMD3<Float>(1, 1, 1)
    /// EXIF, XMP and IPTC blocks to write as given (`iccProfile` is ignored here; see `colourProfile`). Each format
    /// writes what it can hold: IPTC only goes into JPEG.
    public var metadata = ImageMetadata()
    public var colourProfile: ColourProfile = .none

    public init(format: ImageFormat, quality: Int = 95) {
        self.format = format
        self.quality = quality
    }

    /// Whether samples are written with 16 bits.
    var writesSixteenBit: Bool { sixteenBit && format == .png }
}
