/// The enlargement of an alpha plane that ``Imaging/resizeAlpha(_:width:height:to:_:)`` makes when it enlarges both
/// axes, a band of rows at a time: each band comes from the few source rows its kernel reads, so the enlarged plane
/// never exists whole. A band's rows are the whole enlargement's rows exactly (the same sums in the same order).
public struct AlphaEnlarger: Sendable {
    private let alpha: [Float]
    private let width: Int
    public let newWidth: Int
    public let newHeight: Int
    private let horizontal: LanczosUpsampler
    private let vertical: LanczosUpsampler

    /// Nil unless `newWidth` x `newHeight` is larger than `width` x `height` on both axes.
    public init?(_ alpha: [Float], width: Int, height: Int, to newWidth: Int, _ newHeight: Int) {
        guard width > 0, height > 0, newWidth > width, newHeight > height, alpha.count == width * height else {
            return nil
        }
        self.alpha = alpha
        self.width = width
        self.newWidth = newWidth
        self.newHeight = newHeight
        horizontal = LanczosUpsampler(from: width, to: newWidth)
        vertical = LanczosUpsampler(from: height, to: newHeight)
    }

    /// Rows `rows` of the enlarged plane, clamped to [0, 1], as three equal planes: the shape the resamplers take.
    public func rows(_ rows: Range<Int>) -> RGBImage {
        precondition(!rows.isEmpty && rows.lowerBound >= 0 && rows.upperBound <= newHeight)
        let read = vertical.sourceRows(of: rows)
        let band = Array(alpha[(read.lowerBound * width)..<((read.upperBound + 1) * width)])
        let wide = horizontal.horizontal(RGBImage(width: width, height: read.count, pixels: band + band + band))
        var enlarged = vertical.vertical(wide, firstRow: read.lowerBound, rows: rows)
        for i in enlarged.pixels.indices { enlarged.pixels[i] = min(max(enlarged.pixels[i], 0), 1) }
        return enlarged
    }
}
