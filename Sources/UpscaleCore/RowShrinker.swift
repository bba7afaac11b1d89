import Imaging
import Inference

/// Shrinks an image that arrives as bands of rows (the tiler's output) to its final size as the rows come, so that
/// the model's full-size output never exists at once: a 4x model asked for 2x holds the 2x image and about one band
/// of the 4x output, not the whole 4x intermediate (a quarter of the memory).
///
/// Each time rows arrive, every output row whose Lanczos kernel the received rows cover is made from the rows held
/// (``Imaging/shrinkRows(_:top:sourceHeight:width:height:rows:)``, which places them at their own rows of the full
/// image, so each row samples what a resize of the whole image samples, at any ratio). Source rows are dropped once
/// no later output row reads them.
struct RowShrinker {
    let sourceWidth: Int
    let sourceHeight: Int
    let width: Int
    let height: Int
    /// The finished output; complete once every source row has been added.
    private(set) var output: Tensor
    /// Source rows not yet past use, starting at `pendingStart`.
    private var pending: Tensor
    private var pendingStart = 0
    /// Output rows finished.
    private var done = 0

    /// Nil unless the target is no larger than the source on either axis, and smaller on one.
    init?(sourceWidth: Int, sourceHeight: Int, width: Int, height: Int) {
        guard width > 0, height > 0, width <= sourceWidth, height <= sourceHeight,
            width < sourceWidth || height < sourceHeight
        else { return nil }
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.width = width
        self.height = height
        output = Tensor(channels: 3, height: height, width: width)
        pending = Tensor(channels: 3, height: 0, width: sourceWidth)
    }

    var isComplete: Bool { done == height }

    /// Source rows held now, waiting for the output rows that read them.
    var heldRows: Int { pending.height }

    private func reads(_ row: Int) -> ClosedRange<Int> {
        Imaging.shrinkSourceRows(of: row, sourceHeight: sourceHeight, height: height)
    }

    /// Takes the next source rows, from `firstRow` on, in order, and finishes every output row they make possible.
    mutating func add(firstRow: Int, rows: Tensor) throws {
        precondition(
            firstRow == pendingStart + pending.height && rows.width == sourceWidth && rows.channels == 3,
            "rows must arrive in order, whole and RGB")
        pending = Self.stacked(pending, rows)
        let received = pendingStart + pending.height
        var ready = done
        if received == sourceHeight {
            ready = height
        } else {
            while ready < height, reads(ready).upperBound < received { ready += 1 }
        }
        guard ready > done else { return }
        // The row before `done` too: when libvips' rounding leaves the image a row short, the last row repeats it.
        let from = max(pendingStart, reads(max(0, done - 1)).lowerBound)
        let band = pending.cropped(y: from - pendingStart, x: 0, height: received - from, width: sourceWidth)
        let shrunk = try Imaging.shrinkRows(
            RGBImage(band), top: from, sourceHeight: sourceHeight, width: width, height: height, rows: done..<ready)
        let count = (ready - done) * width
        for c in 0..<3 {
            let src = c * count
            let dst = (c * height + done) * width
            output.data.replaceSubrange(dst..<(dst + count), with: shrunk.pixels[src..<(src + count)])
        }
        done = ready
        // Keep only the source rows that rows from `done - 1` on read.
        let keepFrom = min(received, reads(max(0, done - 1)).lowerBound)
        if keepFrom > pendingStart {
            pending = pending.cropped(
                y: keepFrom - pendingStart, x: 0, height: received - keepFrom, width: sourceWidth)
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
