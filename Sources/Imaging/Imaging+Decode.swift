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

    /// Decodes a PNG, JPEG or WebP file to 8-bit sRGB, returned as planar Float in [0, 1].
    ///
    /// The file size is checked first, then the pixel count from the header, and only then are
    /// pixels decoded. Alpha is flattened onto white, grey becomes RGB, and 16-bit input is
    /// reduced to 8 bits.
    public static func decode(file path: String, limits: ImageLimits) throws -> RGBImage {
        try decodeWithHeader(file: path, limits: limits).image
    }

    /// Decodes PNG, JPEG or WebP bytes; see ``decode(file:limits:)``.
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
                }
            }
        }
        let header = ImageHeader(width: image.width, height: image.height, bands: image.bands, format: format)
        return (image, header)
    }

    /// Maps the loader libvips would pick onto the formats we accept. The nickname, not the class
    /// name, is matched, because the class differs by build (libspng versus libpng for PNG).
    private static func sniffFormat(_ source: VipsSourceHandle, name: String) throws -> ImageFormat {
        let unsupported = "\(name): not a PNG, JPEG or WebP image"
        guard let className = source.withPointer({ vips_foreign_find_load_source($0) }) else {
            // No loader recognised the bytes: to a user that is "not an image we take".
            throw vipsError(.unsupportedFormat, unsupported)
        }
        let type = g_type_from_name(className)
        let nickname = vips_nickname_find(type).map { String(cString: $0) } ?? ""
        switch nickname {
        case "pngload_source": return .png
        case "jpegload_source": return .jpeg
        case "webpload_source": return .webp
        default:
            throw ImagingError(.unsupportedFormat, message: unsupported, detail: "loader \(nickname)")
        }
    }

    private static func decode(_ source: VipsSourceHandle, limits: ImageLimits, name: String) throws
        -> (image: RGBImage, header: ImageHeader)
    {
        let (image, header) = try openLazily(source, name: name)
        try checkPixelCount(header, limits: limits, name: name)
        // Phone photos are often stored sideways with an EXIF orientation; upscale what a viewer shows. The output
        // carries no orientation tag, which reads as 1.
        let upright = try image.apply(.unreadable, "\(name): the image is corrupt or truncated") { upscaler_vips_autorot($0, $1) }
        // Alpha travels beside the colour: the model sees only colour, and alpha is resized on its own.
        var colour = upright
        var alpha: [Float]?
        if upright.hasAlpha {
            let corrupt = "\(name): the image is corrupt or truncated"
            // Colour and alpha are read separately, and the loader reads sequentially: decode once into memory.
            let decoded = upright.withPointer { vips_image_copy_memory($0) }
            guard let decoded else { throw vipsError(.unreadable, corrupt) }
            let upright = VipsImageHandle(owning: decoded)
            let bands = Int32(upright.bands)
            colour = try upright.apply(.unreadable, corrupt) { upscaler_vips_extract_bands($0, $1, 0, bands - 1) }
            var plane = try upright.apply(.unreadable, corrupt) { upscaler_vips_extract_bands($0, $1, bands - 1, 1) }
            if plane.bandFormat == VIPS_FORMAT_USHORT {
                plane = try plane.apply(.unreadable, corrupt) { upscaler_vips_linear1($0, $1, 1.0 / 257, 0) }
            }
            if plane.bandFormat != VIPS_FORMAT_UCHAR {
                plane = try plane.apply(.unreadable, corrupt) { upscaler_vips_cast_uchar($0, $1) }
            }
            alpha = try planarAlpha(from: plane, name: name)
        }
        var decoded = try planarFloat(from: try toSRGB8(colour, name: name), name: name)
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
                message: "\(name): \(header.width)x\(header.height) is more than the limit of \(limits.maxPixels) pixels")
        }
    }

    /// One 8-bit band as Float in [0, 1].
    private static func planarAlpha(from image: VipsImageHandle, name: String) throws -> [Float] {
        let plane = image.width * image.height
        var values = [Float](repeating: 0, count: plane)
        try image.withPixelBytes(.unreadable, "\(name): the image is corrupt or truncated") { bytes in
            guard bytes.count == plane else {
                throw ImagingError(.unreadable, message: "\(name): the image is corrupt or truncated",
                                   detail: "decoded \(bytes.count) alpha bytes, expected \(plane)")
            }
            for i in 0..<plane { values[i] = Float(bytes[i]) / 255 }
        }
        return values
    }

    /// Convert colour (alpha has been split off) to sRGB and end at 8-bit, 3 bands.
    private static func toSRGB8(_ loaded: VipsImageHandle, name: String) throws -> VipsImageHandle {
        let corrupt = "\(name): the image is corrupt or truncated"
        var image = loaded
        if image.interpretation != VIPS_INTERPRETATION_sRGB || image.bandFormat != VIPS_FORMAT_UCHAR {
            image = try image.apply(.unsupportedFormat, "\(name): unsupported colour layout") {
                upscaler_vips_colourspace($0, $1, VIPS_INTERPRETATION_sRGB)
            }
        }
        if image.bandFormat != VIPS_FORMAT_UCHAR {
            image = try image.apply(.unreadable, corrupt) { upscaler_vips_cast_uchar($0, $1) }
        }
        guard image.bands == 3 else {
            throw ImagingError(.unsupportedFormat, message: "\(name): unsupported colour layout",
                               detail: "\(image.bands) bands after conversion to sRGB")
        }
        return image
    }

    /// Runs the whole lazy pipeline (the actual decode) and spreads interleaved RGB bytes into
    /// planar Float.
    private static func planarFloat(from image: VipsImageHandle, name: String) throws -> RGBImage {
        let width = image.width
        let height = image.height
        let plane = width * height
        var pixels = [Float](repeating: 0, count: plane * 3)
        try image.withPixelBytes(.unreadable, "\(name): the image is corrupt or truncated") { bytes in
            guard bytes.count == plane * 3 else {
                throw ImagingError(.unreadable, message: "\(name): the image is corrupt or truncated",
                                   detail: "decoded \(bytes.count) bytes, expected \(plane * 3)")
            }
            deinterleaveToFloat(bytes.bindMemory(to: UInt8.self), into: &pixels, plane: plane)
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
