import Imaging
import Inference

/// Shrinks an image that arrives as bands of rows (the tiler's output) to its final size as the rows come, so that
/// the model's full-size output never exists at once: a 4x model asked for 2x holds the 2x image and about one band
/// of the 4x output, not the whole 4x intermediate (a quarter of the memory).
///
/// Each stretch of output rows is resized (the same Lanczos shrink as ``Imaging/resize(_:width:height:)``) from its
/// source rows plus ``margin`` output rows on each side, wider than the kernel reaches, and only the rows inside the
/// margin are kept. When the source height is a whole multiple of the target's, every output row then samples the
/// same source rows with the same kernel phase as in a resize of the whole image, so the result is that resize; for
/// other ratios ``init(sourceWidth:sourceHeight:width:height:)`` declines.
struct RowShrinker {
    let sourceWidth: Int
    let sourceHeight: Int
    let width: Int
    let height: Int
    /// Source rows per output row.
    let ratio: Int
    /// The finished output; complete once every source row has been added.
    private(set) var output: Tensor
    /// Source rows not yet past use, starting at `pendingStart`.
    private var pending: Tensor
    private var pendingStart = 0
    /// Output rows finished.
    private var done = 0

    /// Output rows of context on each side of a stretch: Lanczos-3 reaches 3 output rows (plus a fraction) away.
    static let margin = 6

    /// Nil unless the target is no larger than the source on both axes and its height divides the source's.
    init?(sourceWidth: Int, sourceHeight: Int, width: Int, height: Int) {
        guard width > 0, height > 0, width <= sourceWidth, height < sourceHeight, sourceHeight % height == 0 else {
            return nil
        }
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.width = width
        self.height = height
        ratio = sourceHeight / height
        output = Tensor(channels: 3, height: height, width: width)
        pending = Tensor(channels: 3, height: 0, width: sourceWidth)
    }

    var isComplete: Bool { done == height }

    /// Takes the next source rows, from `firstRow` on, in order, and finishes every output row they make possible.
    mutating func add(firstRow: Int, rows: Tensor) throws {
        precondition(
            firstRow == pendingStart + pending.height && rows.width == sourceWidth && rows.channels == 3,
            "rows must arrive in order, whole and RGB")
        pending = Self.stacked(pending, rows)
        let received = pendingStart + pending.height
        let ready = received == sourceHeight ? height : max(done, received / ratio - Self.margin)
        guard ready > done else { return }
        let from = max(0, done - Self.margin) * ratio
        let to = min(sourceHeight, (ready + Self.margin) * ratio)
        let stretch = pending.cropped(y: from - pendingStart, x: 0, height: to - from, width: sourceWidth)
        let shrunk = try Imaging.resize(RGBImage(stretch), width: width, height: (to - from) / ratio)
        let skip = done - from / ratio
        let count = (ready - done) * width
        for c in 0..<3 {
            let src = (c * shrunk.height + skip) * width
            let dst = (c * height + done) * width
            output.data.replaceSubrange(dst..<(dst + count), with: shrunk.pixels[src..<(src + count)])
        }
        done = ready
        // Keep only the source rows the next stretch's margin reaches.
        let keepFrom = max(0, done - Self.margin) * ratio
        if keepFrom > pendingStart {
            pending = pending.cropped(
                y: keepFrom - pendingStart, x: 0, height: pending.height - (keepFrom - pendingStart),
                width: sourceWidth)
            pendingStart = keepFrom
        }
    }

    /// `top` with `bottom`'s rows below it, plane by plane.
    private static func stacked(_ top: Tensor, _ bottom: Tensor) -> Tensor {
        guard top.height > 0 else { return bottom }
        var data: [Float] = []
        data.reserveCapacity(top.data.count + bottom.data.count)
        for c in 0..<top.channels {
            data += top.data[(c * top.height * top.width)..<((c + 1) * top.height * top.width)]
            data += bottom.data[(c * bottom.height * bottom.width)..<((c + 1) * bottom.height * bottom.width)]
        }
        return Tensor(channels: top.channels, height: top.height + bottom.height, width: top.width, data: data)
    }
}
