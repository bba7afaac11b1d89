/// A 3-channel image in planar layout (CHW: every R value row by row, then every G, then every B),
/// Float values nominally in [0, 1]. Planar is what the model consumes, so no reshuffle sits between
/// decode and inference.
public struct RGBImage: Sendable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// `3 * width * height` values: the R plane, then G, then B.
    public var pixels: [Float]
    /// Opacity, one value per pixel in [0, 1] (straight, not premultiplied), or `nil` for an opaque image.
    public var alpha: [Float]?

    /// Wraps existing planar pixels; operations throw `invalidArgument` if the count is not `3 * width * height`.
    public init(width: Int, height: Int, pixels: [Float], alpha: [Float]? = nil) {
        self.width = width
        self.height = height
        self.pixels = pixels
        self.alpha = alpha
    }

    /// Number of values in one plane, or nil if the dimensions are not positive or would overflow.
    var planeCount: Int? {
        guard width > 0, height > 0 else { return nil }
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, count <= Int.max / 3 else { return nil }
        return count
    }

    /// Throws unless the dimensions are positive and `pixels` holds exactly three planes.
    func validate(_ operation: String) throws {
        guard let plane = planeCount, pixels.count == plane * 3 else {
            throw ImagingError(
                .invalidArgument,
                message: "\(operation): the image is \(width)x\(height) but has \(pixels.count) values",
                detail: "expected 3 * width * height planar values")
        }
        if let alpha, alpha.count != plane {
            throw ImagingError(
                .invalidArgument, message: "\(operation): the alpha plane does not match the image",
                detail: "\(alpha.count) alpha values for \(plane) pixels")
        }
    }
}
