internal import CVips
internal import CVipsShim

extension Imaging {
    /// Lanczos3 resize to exactly `width` × `height`, up or down, each axis independently.
    ///
    /// Shrinking axes run through libvips' `reduceh`/`reducev` on Float data (a Lanczos3 kernel
    /// widened by the shrink factor). Enlarging axes run through ``LanczosUpsampler``, because
    /// libvips 8.14's `vips_resize` enlarges with a bicubic interpolator and its reduce operations
    /// refuse factors below 1. Both use the centre-of-pixel convention and replicate edge pixels,
    /// so a constant image stays constant. Rounding in libvips can leave an axis one pixel off;
    /// the result is cropped or edge-extended to the exact size.
    ///
    /// An alpha plane is resized the same way, on its own (ringing is clamped to [0, 1]).
    public static func resize(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        guard let alpha = image.alpha else { return try resizeColour(image, width: width, height: height) }
        var colour = image
        colour.alpha = nil
        var result = try resizeColour(colour, width: width, height: height)
        result.alpha = try resizeAlpha(alpha, width: image.width, height: image.height, to: width, height)
        return result
    }

    /// Resizes one alpha plane of `width` x `height` the same way, clamping Lanczos ringing to [0, 1].
    public static func resizeAlpha(_ alpha: [Float], width: Int, height: Int, to newWidth: Int, _ newHeight: Int) throws
        -> [Float]
    {
        // The resampler works on three planes; the copies make it resample this one.
        let planes = try resizeColour(
            RGBImage(width: width, height: height, pixels: alpha + alpha + alpha),
            width: newWidth, height: newHeight)
        return planes.pixels[0..<(newWidth * newHeight)].map { min(max($0, 0), 1) }
    }

    private static func resizeColour(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        try initialize()
        try image.validate("resize")
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max),
            !width.multipliedReportingOverflow(by: height * 3).overflow
        else {
            throw ImagingError(.invalidArgument, message: "resize: cannot resize to \(width)x\(height)")
        }
        var result = image
        if width < image.width || height < image.height {
            result = try vipsShrink(
                result, width: min(width, image.width), height: min(height, image.height))
        }
        if width > result.width {
            result = LanczosUpsampler(from: result.width, to: width).horizontal(result)
        }
        if height > result.height {
            result = LanczosUpsampler(from: result.height, to: height).vertical(result)
        }
        return result
    }

    /// Shrinks with libvips; each target is at most the source size on its axis.
    private static func vipsShrink(_ image: RGBImage, width: Int, height: Int) throws -> RGBImage {
        try vipsShrink(image, top: 0, sourceHeight: image.height, width: width, height: height, rows: 0..<height)
    }

    /// Rows `rows` of ``resize(_:width:height:)`` of an image `band.width` wide and `sourceHeight` tall to `width` x
    /// `height` (each at most the source's), computed from one band of it: its rows `top ..< top + band.height`.
    ///
    /// The band is placed at its own rows of an image of the full height, so every output row samples the same source
    /// rows, with the same kernel weights, as in a resize of the whole image. libvips computes only the rows asked for,
    /// so the rest of that image is never made. A row is exact when the rows it reads
    /// (``shrinkSourceRows(of:sourceHeight:height:)``) lie inside the band; the caller asks only for such rows.
    public static func shrinkRows(
        _ band: RGBImage, top: Int, sourceHeight: Int, width: Int, height: Int, rows: Range<Int>
    ) throws -> RGBImage {
        try initialize()
        try band.validate("resize")
        guard top >= 0, top + band.height <= sourceHeight, width > 0, width <= band.width, height > 0,
            height <= sourceHeight, rows.lowerBound >= 0, rows.upperBound <= height, !rows.isEmpty
        else {
            throw ImagingError(
                .invalidArgument,
                message: "resize: cannot shrink rows \(rows) of \(band.width)x\(sourceHeight) to \(width)x\(height)")
        }
        return try vipsShrink(band, top: top, sourceHeight: sourceHeight, width: width, height: height, rows: rows)
    }

    /// The source rows that output row `row` of a shrink from `sourceHeight` rows to `height` reads, with room to
    /// spare: libvips' Lanczos3 `reducev` reads `2 * 3 * shrink + 1` rows around the row's centre, `(row + 0.5) *
    /// shrink`, moved by at most one row to spread the rounding of the height evenly. Clamped to the image.
    public static func shrinkSourceRows(of row: Int, sourceHeight: Int, height: Int) -> ClosedRange<Int> {
        guard height < sourceHeight else { return max(0, row - 1)...min(sourceHeight - 1, row + 1) }
        let shrink = Double(sourceHeight) / Double(height)
        let centre = (Double(row) + 0.5) * shrink
        let reach = (3 * shrink).rounded(.up) + 4
        let first = Int((centre - reach).rounded(.down)), last = Int((centre + reach).rounded(.up))
        return max(0, first)...min(sourceHeight - 1, max(0, last))
    }

    private static func vipsShrink(
        _ band: RGBImage, top: Int, sourceHeight: Int, width: Int, height: Int, rows: Range<Int>
    ) throws -> RGBImage {
        let failed = "resize: could not resize the image"
        let interleaved = interleaveFloat(band.pixels, plane: band.width * band.height)
        var current = try interleaved.withUnsafeBytes { raw in
            guard
                let pointer = vips_image_new_from_memory_copy(
                    raw.baseAddress, raw.count, Int32(band.width), Int32(band.height), 3, VIPS_FORMAT_FLOAT)
            else { throw vipsError(.invalidArgument, failed) }
            return VipsImageHandle(owning: pointer)
        }
        if band.height < sourceHeight {
            // Rows outside the band repeat its edge rows; no row the caller keeps reads them.
            let (w, y, h) = (Int32(band.width), Int32(top), Int32(sourceHeight))
            current = try current.apply(.invalidArgument, failed) { upscaler_vips_embed_copy($0, $1, 0, y, w, h) }
        }
        if height < sourceHeight {
            let shrink = Double(sourceHeight) / Double(height)
            current = try current.apply(.invalidArgument, failed) { upscaler_vips_reducev_lanczos3($0, $1, shrink) }
        }
        if width < band.width {
            let shrink = Double(band.width) / Double(width)
            current = try current.apply(.invalidArgument, failed) { upscaler_vips_reduceh_lanczos3($0, $1, shrink) }
        }
        current = try exactSize(current, width: width, height: height, failed: failed)
        if rows.count < height {
            let (w, y, h) = (Int32(width), Int32(rows.lowerBound), Int32(rows.count))
            current = try current.apply(.invalidArgument, failed) { upscaler_vips_extract_area($0, $1, 0, y, w, h) }
        }
        let plane = width * rows.count
        let pixels = try current.withPixelBytes(.invalidArgument, failed) { raw in
            guard raw.count == plane * 3 * MemoryLayout<Float>.stride else {
                throw ImagingError(.invalidArgument, message: failed, detail: "unexpected resize output size")
            }
            return deinterleaveFloat(raw.bindMemory(to: Float.self), plane: plane)
        }
        return RGBImage(width: width, height: rows.count, pixels: pixels)
    }

    /// Crops a row/column that libvips' rounding added, or replicates the edge into one it dropped.
    private static func exactSize(
        _ image: VipsImageHandle, width: Int, height: Int, failed: String
    ) throws -> VipsImageHandle {
        var image = image
        if image.width > width || image.height > height {
            let w = Int32(min(image.width, width)), h = Int32(min(image.height, height))
            image = try image.apply(.invalidArgument, failed) { upscaler_vips_extract_area($0, $1, 0, 0, w, h) }
        }
        if image.width < width || image.height < height {
            let w = Int32(width), h = Int32(height)
            image = try image.apply(.invalidArgument, failed) { upscaler_vips_embed_copy($0, $1, 0, 0, w, h) }
        }
        return image
    }
}
