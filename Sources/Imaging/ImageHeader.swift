/// What an image file says about itself before any pixel is decoded.
public struct ImageHeader: Sendable, Equatable {
    /// Width in pixels, as stored (before any EXIF orientation).
    public let width: Int
    /// Height in pixels, as stored.
    public let height: Int
    /// Bands as stored: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (or CMYK for some JPEGs).
    public let bands: Int
    /// The container format.
    public let format: InputFormat
    /// Bits per sample as stored: 8, or 16 for 16-bit PNG and TIFF (and for TIFF's 32-bit and float samples, which
    /// the pipeline keeps at 16). Decided by the file's declared sample format, never by pixel values.
    public let bitDepth: Int
    /// EXIF, XMP, IPTC and the ICC profile, as found in the file. After decoding, a profile that could not be applied
    /// (lcms rejected it) is gone, since the pixels were then taken as sRGB.
    public internal(set) var metadata: ImageMetadata

    /// Creates a header; decoders fill this in, tests compare against it.
    public init(
        width: Int, height: Int, bands: Int, format: InputFormat, bitDepth: Int = 8,
        metadata: ImageMetadata = ImageMetadata()
    ) {
        self.width = width
        self.height = height
        self.bands = bands
        self.format = format
        self.bitDepth = bitDepth
        self.metadata = metadata
    }
}

/// Metadata blocks carried from input to output, as raw bytes in the form libvips reads and writes them.
public struct ImageMetadata: Sendable, Equatable {
    /// The EXIF block ("Exif\0\0" then TIFF). After decoding it says Orientation 1 and has no thumbnail, because
    /// the decoded pixels are upright and larger than any thumbnail.
    public var exif: [UInt8]?
    /// The XMP packet (XML).
    public var xmp: [UInt8]?
    /// The IPTC-IIM block (Photoshop APP13), which only JPEG can carry.
    public var iptc: [UInt8]?
    /// The embedded ICC profile. Decoding converts the pixels from it to sRGB.
    public var iccProfile: [UInt8]?

    public init(exif: [UInt8]? = nil, xmp: [UInt8]? = nil, iptc: [UInt8]? = nil, iccProfile: [UInt8]? = nil) {
        self.exif = exif
        self.xmp = xmp
        self.iptc = iptc
        self.iccProfile = iccProfile
    }

    /// Whether there is anything besides the ICC profile.
    public var hasDescriptiveMetadata: Bool { exif != nil || xmp != nil || iptc != nil }

    /// The profile's colour space from its header (bytes 16...19), e.g. "RGB " or "GRAY"; nil without a profile.
    public var iccColourSpace: String? {
        guard let profile = iccProfile, profile.count >= 128 else { return nil }
        return String(decoding: profile[16..<20], as: UTF8.self)
    }
}
