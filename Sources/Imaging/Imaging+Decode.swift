internal import CVips
internal import CVipsShim

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

extension Imaging {
    /// Reads width, height, bands and format from a file's header without decoding any pixel.
    public static func readHeader(file path: String) throws -> ImageHeader {
        try initialize()
        let name = displayName(forPath: path)
        guard try regularFileSize(path, name: name) > 0 else { throw emptyInput(name) }
        let source = try VipsSourceHandle(file: path, name: name)
        return try openLazily(source, name: name).header
    }

    /// Reads width, height, bands and format from encoded bytes without decoding any pixel.
    public static func readHeader(data: [UInt8]) throws -> ImageHeader {
        try initialize()
        let name = "image"
        guard !data.isEmpty else { throw emptyInput(name) }
        let source = try VipsSourceHandle(data: data, name: name)
        return try openLazily(source, name: name).header
    }

    /// Decodes an image file to sRGB, returned as planar Float in [0, 1].
    ///
    /// The file size is checked first, then the pixel count from the header, and only then are pixels decoded. EXIF
    /// orientation is applied, an embedded ICC profile is converted to sRGB, grey becomes RGB, alpha is split off into
    /// ``RGBImage/alpha``, and 16-bit input keeps its 16-bit precision.
    public static func decode(file path: String, limits: ImageLimits) throws -> RGBImage {
        try decodeWithHeader(file: path, limits: limits).image
    }

    /// Decodes encoded bytes; see ``decode(file:limits:)``.
    public static func decode(data: [UInt8], limits: ImageLimits) throws -> RGBImage {
        try decodeWithHeader(data: data, limits: limits).image
    }

    /// Like ``decode(file:limits:)``, and also returns the source's header (its band count says whether it was
    /// gray), read once for both.
    public static func decodeWithHeader(file path: String, limits: ImageLimits) throws
        -> (image: RGBImage, header: ImageHeader)
    {
        try initialize()
        let name = displayName(forPath: path)
        let size = try regularFileSize(path, name: name)
        try checkFileSize(size, limits: limits, name: name)
        let source = try VipsSourceHandle(file: path, name: name)
        return try decode(source, limits: limits, name: name)
    }

    /// Like ``decode(data:limits:)``, and also returns the source's header.
    public static func decodeWithHeader(data: [UInt8], limits: ImageLimits) throws
        -> (image: RGBImage, header: ImageHeader)
    {
        try initialize()
        let name = "image"
        try checkFileSize(data.count, limits: limits, name: name)
        let source = try VipsSourceHandle(data: data, name: name)
        return try decode(source, limits: limits, name: name)
    }

    // MARK: - Steps, in the order they run

    /// Sniff the format, then open with that loader alone; libvips reads only the header here.
    private static func openLazily(_ source: VipsSourceHandle, name: String) throws
        -> (image: VipsImageHandle, header: ImageHeader)
    {
        let format = try sniffFormat(source, name: name)
        let image = try source.withPointer { src in
            try vipsImage(.unreadable, "\(name): the image is corrupt or truncated") { out in
                switch format {
                case .png: upscaler_vips_pngload_source(src, out, VIPS_FAIL_ON_ERROR)
                case .jpeg: upscaler_vips_jpegload_source(src, out, VIPS_FAIL_ON_ERROR)
                case .webp: upscaler_vips_webpload_source(src, out, VIPS_FAIL_ON_ERROR)
                case .tiff: upscaler_vips_tiffload_source(src, out, VIPS_FAIL_ON_ERROR)
                case .gif: upscaler_vips_gifload_source(src, out, VIPS_FAIL_ON_ERROR)
                case .heif: upscaler_vips_heifload_source(src, out, VIPS_FAIL_ON_ERROR)
                }
            }
        }
        let eightBit = image.bandFormat == VIPS_FORMAT_UCHAR || image.bandFormat == VIPS_FORMAT_CHAR
        let header = ImageHeader(
            width: image.width, height: image.height, bands: image.bands, format: format,
            bitDepth: eightBit ? 8 : 16, metadata: readMetadata(image))
        return (image, header)
    }

    /// The metadata blocks libvips found while reading the header. The EXIF block is rewritten for upright pixels
    /// (see ``ImageMetadata/exif``); one libexif cannot parse is dropped rather than copied blindly.
    private static func readMetadata(_ image: VipsImageHandle) -> ImageMetadata {
        var metadata = ImageMetadata(
            xmp: image.blob(named: "xmp-data"), iptc: image.blob(named: "iptc-data"),
            iccProfile: image.blob(named: "icc-profile-data"))
        if let exif = image.blob(named: "exif-data") {
            metadata.exif = uprightExif(exif)
        }
        return metadata
    }

    /// Rewrites an EXIF block for pixels that have been turned upright: Orientation becomes 1 and the thumbnail (which
    /// shows the old, smaller image) is dropped. Nil when libexif cannot parse the block. PNG's eXIf chunk holds the
    /// TIFF structure without the "Exif\0\0" prefix that JPEG's APP1 has and libexif looks for, so it is added.
    public static func uprightExif(_ block: [UInt8]) -> [UInt8]? {
        let prefix: [UInt8] = Array("Exif".utf8) + [0, 0]
        let input = block.starts(with: prefix) ? block : prefix + block
        var output: UnsafeMutableRawPointer?
        var length = 0
        let status = input.withUnsafeBytes { upscaler_exif_make_upright($0.baseAddress, $0.count, &output, &length) }
        guard status == 0, let output else { return nil }
        defer { free(output) }
        return [UInt8](UnsafeRawBufferPointer(start: output, count: length))
    }

    /// Maps the loader libvips would pick onto the formats we accept. The nickname, not the class
    /// name, is matched, because the class differs by build (libspng versus libpng for PNG).
    private static func sniffFormat(_ source: VipsSourceHandle, name: String) throws -> InputFormat {
        let unsupported =
            "\(name): not an image format Upscaler reads (\(InputFormat.available.map(\.displayName).joined(separator: ", ")))"
        guard let className = source.withPointer({ vips_foreign_find_load_source($0) }) else {
            // No loader recognised the bytes: to a user that is "not an image we take".
            throw vipsError(.unsupportedFormat, unsupported)
        }
        let type = g_type_from_name(className)
        let nickname = vips_nickname_find(type).map { String(cString: $0) } ?? ""
        guard let format = InputFormat.allCases.first(where: { $0.loaderNickname == nickname }) else {
            throw ImagingError(.unsupportedFormat, message: unsupported, detail: "loader \(nickname)")
        }
        return format
    }

    private static func decode(_ source: VipsSourceHandle, limits: ImageLimits, name: String) throws
        -> (image: RGBImage, header: ImageHeader)
    {
        var (image, header) = try openLazily(source, name: name)
        try checkPixelCount(header, limits: limits, name: name)
        let corrupt = "\(name): the image is corrupt or truncated"
        // Phone photos are often stored sideways with an EXIF orientation; upscale what a viewer shows. The output's
        // EXIF says orientation 1 (see readMetadata).
        let upright = try image.apply(.unreadable, corrupt) { upscaler_vips_autorot($0, $1) }
        let sixteenBit = header.bitDepth == 16
        // Alpha travels beside the colour: the model sees only colour, and alpha is resized on its own.
        var colour = upright
        var alpha: [Float]?
        if upright.hasAlpha {
            // Colour and alpha are read separately, and the loader reads sequentially: decode once into memory.
            let decoded = upright.withPointer { vips_image_copy_memory($0) }
            guard let decoded else { throw vipsError(.unreadable, corrupt) }
            let upright = VipsImageHandle(owning: decoded)
            let bands = Int32(upright.bands)
            colour = try upright.apply(.unreadable, corrupt) { upscaler_vips_extract_bands($0, $1, 0, bands - 1) }
            var plane = try upright.apply(.unreadable, corrupt) { upscaler_vips_extract_bands($0, $1, bands - 1, 1) }
            plane = try castSamples(plane, sixteenBit: sixteenBit, name: name)
            alpha = try planarFloat(from: plane, bands: 1, name: name).pixels
            // libvips' GIF loader always adds an alpha band; an opaque GIF should not come out with one.
            if header.format == .gif, alpha?.allSatisfy({ $0 >= 1 }) == true { alpha = nil }
        }
        let (sRGB, profileApplied) = try toSRGB(colour, header: header, name: name)
        if !profileApplied { header.metadata.iccProfile = nil }
        var decoded = try planarFloat(from: sRGB, bands: 3, name: name)
        decoded.alpha = alpha
        return (decoded, header)
    }

    private static func checkFileSize(_ size: Int, limits: ImageLimits, name: String) throws {
        guard size > 0 else { throw emptyInput(name) }
        guard size <= limits.maxFileBytes else {
            throw ImagingError(
                .fileTooLarge,
                message: "\(name): \(size) bytes is more than the limit of \(limits.maxFileBytes) bytes")
        }
    }

    private static func checkPixelCount(_ header: ImageHeader, limits: ImageLimits, name: String) throws {
        let (pixels, overflow) = header.width.multipliedReportingOverflow(by: header.height)
        guard !overflow, pixels <= limits.maxPixels else {
            throw ImagingError(
                .tooLarge,
                message:
                    "\(name): \(header.width)x\(header.height) is more than the limit of \(limits.maxPixels) pixels")
        }
    }

    /// Convert colour (alpha has been split off) to sRGB, 3 bands, 8-bit or (for 16-bit sources) 16-bit. An embedded
    /// ICC profile drives the conversion; without one, libvips' own colourspace conversion does (grey, CMYK, Lab).
    /// Also says whether the embedded profile was used.
    private static func toSRGB(_ loaded: VipsImageHandle, header: ImageHeader, name: String) throws
        -> (image: VipsImageHandle, profileApplied: Bool)
    {
        let sixteenBit = header.bitDepth == 16
        let unsupported = "\(name): unsupported colour layout"
        var image = loaded
        var converted = false
        if header.metadata.iccProfile != nil {
            // A profile lcms rejects (or one for another colour space than the pixels) is ignored, as browsers do:
            // the pixels are then taken as sRGB rather than refused.
            if let transformed = try? image.apply(
                .unsupportedFormat, unsupported,
                {
                    upscaler_vips_icc_embedded_to_srgb($0, $1, sixteenBit ? 16 : 8)
                })
            {
                image = transformed
                converted = true
            }
        }
        let target = sixteenBit ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB
        if !converted && image.interpretation != target {
            image = try image.apply(.unsupportedFormat, unsupported) { upscaler_vips_colourspace($0, $1, target) }
        }
        image = try castSamples(image, sixteenBit: sixteenBit, name: name)
        guard image.bands == 3 else {
            throw ImagingError(
                .unsupportedFormat, message: unsupported,
                detail: "\(image.bands) bands after conversion to sRGB")
        }
        return (image, converted)
    }

    /// Ends at 8-bit or 16-bit unsigned samples.
    private static func castSamples(_ image: VipsImageHandle, sixteenBit: Bool, name: String) throws -> VipsImageHandle
    {
        let corrupt = "\(name): the image is corrupt or truncated"
        switch (sixteenBit, image.bandFormat) {
        case (false, VIPS_FORMAT_UCHAR), (true, VIPS_FORMAT_USHORT): return image
        case (false, _): return try image.apply(.unreadable, corrupt) { upscaler_vips_cast_uchar($0, $1) }
        case (true, _): return try image.apply(.unreadable, corrupt) { upscaler_vips_cast_ushort($0, $1) }
        }
    }

    /// Runs the whole lazy pipeline (the actual decode) and spreads interleaved 8- or 16-bit samples into planar
    /// Float in [0, 1]. With `bands` 1 the result's `pixels` hold that one plane.
    private static func planarFloat(from image: VipsImageHandle, bands: Int, name: String) throws -> RGBImage {
        let width = image.width
        let height = image.height
        let plane = width * height
        let sampleSize = image.bandFormat == VIPS_FORMAT_USHORT ? 2 : 1
        var pixels = [Float](repeating: 0, count: plane * bands)
        try image.withPixelBytes(.unreadable, "\(name): the image is corrupt or truncated") { bytes in
            guard bytes.count == plane * bands * sampleSize else {
                throw ImagingError(
                    .unreadable, message: "\(name): the image is corrupt or truncated",
                    detail: "decoded \(bytes.count) bytes, expected \(plane * bands * sampleSize)")
            }
            if sampleSize == 2 {
                deinterleaveToFloat(bytes.bindMemory(to: UInt16.self), bands: bands, into: &pixels, plane: plane)
            } else {
                deinterleaveToFloat(bytes.bindMemory(to: UInt8.self), bands: bands, into: &pixels, plane: plane)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    // MARK: - Helpers

    private static func emptyInput(_ name: String) -> ImagingError {
        ImagingError(.unreadable, message: "\(name): the file is empty")
    }

    /// Size of a regular file, checked before libvips sees it.
    private static func regularFileSize(_ path: String, name: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ImagingError(.ioFailed, message: "\(name): cannot read the file", detail: "\(path): \(reason)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ImagingError(.ioFailed, message: "\(name): not a regular file", detail: path)
        }
        return Int(info.st_size)
    }
}
