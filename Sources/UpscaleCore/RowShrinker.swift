import Imaging
import Inference

/// Shrinks an image that arrives as bands of rows (the tiler's output) to its final size as the rows come, so that
/// the model's full-size output never exists at once: a 4x model asked for 2x holds the 2x image and about one band
/// of the 4x output, not the whole 4x intermediate (a quarter of the memory).
///
/// The rows are taken in groups: `groupRows` output rows come from `groupSourceRows` source rows (the height ratio in
/// lowest terms: 2 from 4 at 2x, 3 from 4 at 3x). Each stretch of whole groups is resized (the same Lanczos shrink as
/// ``Imaging/resize(_:width:height:)``) from its source rows plus at least ``margin`` output rows of context on
/// each side, wider than the kernel reaches, and only the rows inside the margin are kept. A stretch starts on a
/// group boundary, so every output row samples the same source rows at the same kernel phase as in a resize of the
/// whole image: the result is that resize (to the last bit when the ratio is a whole number, to rounding in the
/// phase otherwise). ``init(sourceWidth:sourceHeight:width:height:)`` declines when a group is over half the target.
struct RowShrinker {
    let sourceWidth: Int
    let sourceHeight: Int
    let width: Int
    let height: Int
    /// Output rows per group, and the source rows they come from.
    let groupRows: Int
    let groupSourceRows: Int
    /// The finished output; complete once every source row has been added.
    private(set) var output: Tensor
    /// Source rows not yet past use, starting at `pendingStart`.
    private var pending: Tensor
    private var pendingStart = 0
    /// Output rows finished: a whole number of groups until the last stretch.
    private var done = 0

    /// Output rows of context on each side of a stretch, at least: Lanczos-3 reaches 3 output rows (plus a fraction).
    static let margin = 6

    /// Nil unless the target is smaller than the source and no wider, and a group is at most half the target.
    init?(sourceWidth: Int, sourceHeight: Int, width: Int, height: Int) {
        guard width > 0, height > 0, width <= sourceWidth, height < sourceHeight else { return nil }
        let common = Self.gcd(sourceHeight, height)
        guard height / common <= height / 2 else { return nil }
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.width = width
        self.height = height
        groupRows = height / common
        groupSourceRows = sourceHeight / common
        output = Tensor(channels: 3, height: height, width: width)
        pending = Tensor(channels: 3, height: 0, width: sourceWidth)
    }

    var isComplete: Bool { done == height }

    /// Context on each side of a stretch, in output rows: whole groups covering ``margin``.
    private var marginRows: Int { (Self.margin + groupRows - 1) / groupRows * groupRows }

    /// The source row where output row `row` (a group boundary) starts.
    private func sourceRow(_ row: Int) -> Int { row / groupRows * groupSourceRows }

    /// Takes the next source rows, from `firstRow` on, in order, and finishes every output row they make possible.
    mutating func add(firstRow: Int, rows: Tensor) throws {
        precondition(
            firstRow == pendingStart + pending.height && rows.width == sourceWidth && rows.channels == 3,
            "rows must arrive in order, whole and RGB")
        pending = Self.stacked(pending, rows)
        let received = pendingStart + pending.height
        let ready =
            received == sourceHeight
            ? height : max(done, (received / groupSourceRows) * groupRows - marginRows)
        guard ready > done else { return }
        let first = max(0, done - marginRows)
        let from = sourceRow(first)
        let to = min(sourceHeight, sourceRow(ready + marginRows))
        let rowsOut = ready + marginRows >= height ? height - first : ready + marginRows - first
        let stretch = pending.cropped(y: from - pendingStart, x: 0, height: to - from, width: sourceWidth)
        let shrunk = try Imaging.resize(RGBImage(stretch), width: width, height: rowsOut)
        let skip = done - first
        let count = (ready - done) * width
        for c in 0..<3 {
            let src = (c * shrunk.height + skip) * width
            let dst = (c * height + done) * width
            output.data.replaceSubrange(dst..<(dst + count), with: shrunk.pixels[src..<(src + count)])
        }
        done = ready
        // Keep only the source rows the next stretch's margin reaches.
        let keepFrom = sourceRow(max(0, done - marginRows))
        if keepFrom > pendingStart {
            pending = pending.cropped(
                y: keepFrom - pendingStart, x: 0, height: pending.height - (keepFrom - pendingStart),
                width: sourceWidth)
            pendingStart = keepFrom
        }
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

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
