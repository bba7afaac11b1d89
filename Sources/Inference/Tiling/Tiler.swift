/// Runs a network over an image tile by tile, so memory follows the tile size rather than the image size.
///
/// The image is first extended by `pad` pixels of reflection on every side (the border context ncnn-vulkan's
/// prepadding and upstream's `pre_pad` provide); tiles are cut from that, run one at a time, blended into a band of
/// output rows, and rows are handed to `emitRows` as soon as no later tile can touch them. Only one tile row of output
/// is held at once.
public struct TilingOptions: Sendable, Equatable {
    /// Tile edge in input pixels (before padding is added around the image).
    public var tile: Int
    /// Minimum overlap between neighbouring tiles, in input pixels; the blend uses its central half.
    public var overlap: Int
    /// Reflection padding around the whole image, in input pixels.
    public var pad: Int

    public init(tile: Int = 192, overlap: Int = 32, pad: Int = 10) {
        self.tile = tile
        self.overlap = overlap
        self.pad = pad
    }
}

/// Progress of a tiled run: `completed` of `total` tiles done.
public struct TileProgress: Sendable {
    public let completed: Int
    public let total: Int
}

public enum Tiler {
    /// The number of tiles `run` will execute for an image of this size.
    public static func tileCount(
        height: Int, width: Int, options: TilingOptions, alignment: Int = 1, phase: Int = 1
    ) -> Int {
        let grid = axes(height: height, width: width, options: options, alignment: alignment, phase: phase)
        return grid.rows.starts.count * grid.columns.starts.count
    }

    /// The padding and the tile axes `run` uses. With a `phase` above 1 (a network that unshuffles its input, such as
    /// RRDBNet at 2x), the padding is a multiple of it, the padded extents are rounded up to one, and every tile starts
    /// on one: each tile groups pixels as a run over the whole unpadded image does, and overlapping tiles compute the
    /// same values.
    public static func axes(
        height: Int, width: Int, options: TilingOptions, alignment: Int, phase: Int = 1
    ) -> (pad: Int, rows: TileAxis, columns: TileAxis) {
        var pad = effectivePad(options.pad, height: height, width: width)
        pad -= pad % phase  // rounded down, so the reflection still fits
        func axis(_ extent: Int) -> TileAxis {
            TileAxis(
                extent: (extent + phase - 1) / phase * phase, tile: options.tile, overlap: options.overlap,
                alignment: alignment / gcd(alignment, phase) * phase, phase: phase)
        }
        return (pad, axis(height + 2 * pad), axis(width + 2 * pad))
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// The reflection padding `run` adds: `pad` on every side, plus `extraRows` below and `extraColumns` to the right
    /// when a single tile must be rounded up to the engine's `alignment` (oneDNN's Winograd kernel runs some extents
    /// at half speed) or the extent up to the network's `phase`. Output under the padding is never emitted.
    public static func padding(
        height: Int, width: Int, options: TilingOptions,
        alignment: Int, phase: Int = 1
    ) -> (pad: Int, extraRows: Int, extraColumns: Int) {
        let (pad, rows, cols) = axes(height: height, width: width, options: options, alignment: alignment, phase: phase)
        return (pad, extra(rows, height + 2 * pad), extra(cols, width + 2 * pad))
    }

    /// Rows (or columns) `axis` reaches past a padded `extent`: the last tile ends at the rounded extent, or one tile
    /// is longer than the image.
    private static func extra(_ axis: TileAxis, _ extent: Int) -> Int {
        max(0, axis.starts.last! + axis.length - extent)
    }

    /// Reflection needs at least two pixels and cannot reach further than the image is wide.
    static func effectivePad(_ pad: Int, height: Int, width: Int) -> Int {
        max(0, min(pad, height - 1, width - 1))
    }

    /// Upscales `image` (planar RGB) by the network's integer `scale`.
    ///
    /// `emitRows(firstRow, rows)` receives finished output rows in order as a planar tensor of `rows` lines;
    /// `progress` is called after every tile, and may throw to cancel the run between tiles.
    public static func run(
        _ image: Tensor, scale: Int, engine: any NetworkRunner, options: TilingOptions,
        progress: (TileProgress) throws -> Void = { _ in },
        emitRows: (Int, Tensor) throws -> Void
    ) throws {
        // Laid out over the padded image before the extra rows and columns, which lengthen a single tile or round the
        // extent up to the network's phase.
        let (pad, rows, cols) = axes(
            height: image.height, width: image.width, options: options, alignment: engine.preferredAlignment,
            phase: engine.network.inputAlignment)
        let extraRows = extra(rows, image.height + 2 * pad), extraColumns = extra(cols, image.width + 2 * pad)
        let padded =
            pad > 0 || extraRows > 0 || extraColumns > 0
            ? reflectPad(image, top: pad, left: pad, bottom: pad + extraRows, right: pad + extraColumns) : image
        let channels = image.channels
        let outWidth = image.width * scale
        let bandHeight = rows.length * scale
        let tileWidthOut = cols.length * scale
        let columnWeights = (0..<cols.starts.count).map { cols.weights(tile: $0, scale: scale) }
        let total = rows.starts.count * cols.starts.count
        var done = 0

        // `band` accumulates weighted output for padded rows [bandStart, bandStart + bandHeight) (output pixels), and
        // `bandWeight` the weights themselves, which the output is divided by when rows are emitted.
        var band = Tensor(channels: channels, height: bandHeight, width: outWidth)
        var bandWeight = [Float](repeating: 0, count: bandHeight * outWidth)
        var bandStart = 0  // first padded output row held in `band`
        var emittedUntil = 0  // first unpadded output row not yet emitted
        let padOut = pad * scale
        let outHeight = image.height * scale

        for (ri, rowStart) in rows.starts.enumerated() {
            let tileTop = rowStart * scale
            // Everything above this tile row's top is final: emit it and slide the band down.
            try flush(upTo: tileTop)
            let rowWeights = rows.weights(tile: ri, scale: scale)
            for (ci, colStart) in cols.starts.enumerated() {
                let tileInput = padded.cropped(y: rowStart, x: colStart, height: rows.length, width: cols.length)
                let out = try engine.run(tileInput)
                guard out.height == bandHeight, out.width == tileWidthOut, out.channels == channels else {
                    throw InferenceError(.shapeMismatch, "the network's output is not \(scale)x its input")
                }
                let colWeights = columnWeights[ci]
                let x0 = colStart * scale - padOut  // output column of the tile's first pixel
                let y0 = tileTop - bandStart
                let xs = max(0, -x0), xe = min(tileWidthOut, outWidth - x0)
                band.data.withUnsafeMutableBufferPointer { dst in
                    out.data.withUnsafeBufferPointer { src in
                        for c in 0..<channels {
                            for y in 0..<bandHeight where rowWeights[y] > 0 && xs < xe {
                                let wy = rowWeights[y]
                                let srcRow = (c * bandHeight + y) * tileWidthOut
                                let dstRow = (c * bandHeight + y0 + y) * outWidth
                                for x in xs..<xe {
                                    dst[dstRow + x0 + x] += src[srcRow + x] * wy * colWeights[x]
                                }
                            }
                        }
                    }
                }
                for y in 0..<bandHeight where rowWeights[y] > 0 && xs < xe {
                    let row = (y0 + y) * outWidth + x0
                    for x in xs..<xe { bandWeight[row + x] += rowWeights[y] * colWeights[x] }
                }
                done += 1
                try progress(TileProgress(completed: done, total: total))
            }
        }
        try flush(upTo: padded.height * scale)

        /// Emits finished rows above padded output row `limit` and moves the band so it starts there.
        func flush(upTo limit: Int) throws {
            let first = max(emittedUntil + padOut, bandStart)
            let last = min(limit, padOut + outHeight)
            if last > first {
                var rowsOut = Tensor(channels: channels, height: last - first, width: outWidth)
                let count = (last - first) * outWidth
                let weightStart = (first - bandStart) * outWidth
                for c in 0..<channels {
                    let src = (c * bandHeight + first - bandStart) * outWidth
                    let dst = c * count
                    for i in 0..<count {
                        rowsOut.data[dst + i] = band.data[src + i] / bandWeight[weightStart + i]
                    }
                }
                try emitRows(first - padOut, rowsOut)
                emittedUntil = last - padOut
            }
            // Slide: keep rows [limit, bandStart + bandHeight), zero the rest.
            let shift = min(max(limit - bandStart, 0), bandHeight)
            guard shift > 0 else { return }
            for c in 0..<channels {
                let base = c * bandHeight * outWidth
                let keep = (bandHeight - shift) * outWidth
                if keep > 0 {
                    band.data.withUnsafeMutableBufferPointer { p in
                        (p.baseAddress! + base).update(from: p.baseAddress! + base + shift * outWidth, count: keep)
                    }
                }
                for i in (base + keep)..<(base + bandHeight * outWidth) { band.data[i] = 0 }
            }
            let keep = (bandHeight - shift) * outWidth
            if keep > 0 {
                bandWeight.withUnsafeMutableBufferPointer { p in
                    p.baseAddress!.update(from: p.baseAddress! + shift * outWidth, count: keep)
                }
            }
            for i in keep..<(bandHeight * outWidth) { bandWeight[i] = 0 }
            bandStart += shift
        }
    }

    /// Runs the whole image and returns the assembled output (convenient for tests and small images).
    public static func upscale(
        _ image: Tensor, scale: Int, engine: any NetworkRunner, options: TilingOptions,
        progress: (TileProgress) throws -> Void = { _ in }
    ) throws -> Tensor {
        var result = Tensor(channels: image.channels, height: image.height * scale, width: image.width * scale)
        try run(image, scale: scale, engine: engine, options: options, progress: progress) { first, rows in
            for c in 0..<rows.channels {
                let src = c * rows.height * rows.width
                let dst = (c * result.height + first) * result.width
                result.data.replaceSubrange(
                    dst..<(dst + rows.height * rows.width),
                    with: rows.data[src..<(src + rows.height * rows.width)])
            }
        }
        return result
    }

    /// Mirror padding without repeating the edge pixel (PyTorch's and NumPy's "reflect").
    public static func reflectPad(_ image: Tensor, by pad: Int) -> Tensor {
        reflectPad(image, top: pad, left: pad, bottom: pad, right: pad)
    }

    /// Mirror padding by a different amount on each side.
    public static func reflectPad(_ image: Tensor, top: Int, left: Int, bottom: Int, right: Int) -> Tensor {
        let h = image.height, w = image.width
        var out = Tensor(channels: image.channels, height: h + top + bottom, width: w + left + right)
        /// Folds an index back into 0..<n, mirroring as many times as it takes (pads wider than the image included).
        func reflect(_ i: Int, _ n: Int) -> Int {
            guard n > 1 else { return 0 }
            let period = 2 * (n - 1)
            let folded = ((i % period) + period) % period
            return folded < n ? folded : period - folded
        }
        for c in 0..<image.channels {
            for y in 0..<out.height {
                let sy = reflect(y - top, h)
                for x in 0..<out.width {
                    out[c, y, x] = image[c, sy, reflect(x - left, w)]
                }
            }
        }
        return out
    }
}
