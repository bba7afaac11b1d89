/// Bounds checked before any expensive work, so a hostile input costs a header read, not a decode.
public struct ImageLimits: Sendable {
    /// Largest accepted width × height, read from the header before decoding.
    public var maxPixels: Int
    /// Largest accepted input size in bytes, checked before the header is read.
    public var maxFileBytes: Int

    /// Creates limits; the defaults match ``ImageLimits/default``.
    public init(maxPixels: Int = 50_000_000, maxFileBytes: Int = 100 * 1024 * 1024) {
        self.maxPixels = maxPixels
        self.maxFileBytes = maxFileBytes
    }

    /// 50 megapixels and 100 MiB.
    public static let `default` = ImageLimits()
}
