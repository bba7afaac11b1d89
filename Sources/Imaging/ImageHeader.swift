/// What an image file says about itself before any pixel is decoded.
public struct ImageHeader: Sendable, Equatable {
    /// Width in pixels, as stored (before any EXIF orientation).
    public let width: Int
    /// Height in pixels, as stored.
    public let height: Int
    /// Bands as stored: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (or CMYK for some JPEGs).
    public let bands: Int
    /// The container format.
    public let format: ImageFormat

    /// Creates a header; decoders fill this in, tests compare against it.
    public init(width: Int, height: Int, bands: Int, format: ImageFormat) {
        self.width = width
        self.height = height
        self.bands = bands
        self.format = format
    }
}
