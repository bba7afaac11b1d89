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
        let failed = "resize: could not resize the image"
        let interleaved = interleaveFloat(image.pixels, plane: image.width * image.height)
        var current = try interleaved.withUnsafeBytes { raw in
            guard
                let pointer = vips_image_new_from_memory_copy(
                    raw.baseAddress, raw.count, Int32(image.width), Int32(image.height), 3, VIPS_FORMAT_FLOAT)
            else { throw vipsError(.invalidArgument, failed) }
            return VipsImageHandle(owning: pointer)
        }
        if height < image.height {
            let shrink = Double(image.height) / Double(height)
            current = try current.apply(.invalidArgument, failed) { upscaler_vips_reducev_lanczos3($0, $1, shrink) }
        }
        if width < image.width {
            let shrink = Double(image.width) / Double(width)
            current = try current.apply(.invalidArgument, failed) { upscaler_vips_reduceh_lanczos3($0, $1, shrink) }
        }
        current = try exactSize(current, width: width, height: height, failed: failed)
        let plane = width * height
        let pixels = try current.withPixelBytes(.invalidArgument, failed) { raw in
            guard raw.count == plane * 3 * MemoryLayout<Float>.stride else {
                throw ImagingError(.invalidArgument, message: failed, detail: "unexpected resize output size")
            }
            return deinterleaveFloat(raw.bindMemory(to: Float.self), plane: plane)
        }
        return RGBImage(width: width, height: height, pixels: pixels)
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
