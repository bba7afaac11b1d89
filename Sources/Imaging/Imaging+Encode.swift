internal import AtomicFile
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
    /// Encodes as PNG, JPEG or lossy WebP, 8-bit, without metadata.
    ///
    /// Each value is quantised as `UInt8(clamp(v, 0, 1) * 255 + 0.5)` (round half up; NaN → 0).
    /// `quality` (clamped to 1...100) applies to JPEG and lossy WebP and is ignored for PNG;
    /// callers normally pass 95.
    public static func encode(_ image: RGBImage, format: ImageFormat, quality: Int) throws -> [UInt8] {
        try encode(image, options: EncodeOptions(format: format, quality: quality))
    }

    /// Like ``encode(_:format:quality:)`` with the flags of ``EncodeOptions``.
    public static func encode(
        _ image: RGBImage, format: ImageFormat, quality: Int, lossless: Bool,
        gray: Bool = false, background: SIMD3<Float> = SIMD3(1, 1, 1)
    ) throws -> [UInt8] {
        var options = EncodeOptions(format: format, quality: quality)
        options.lossless = lossless
        options.gray = gray
        options.background = background
        return try encode(image, options: options)
    }

    /// Encodes `image` as `options` say. An alpha plane is written as a fourth (or, grey, second) band in PNG and
    /// WebP; JPEG has no alpha, so there the image is flattened onto `options.background`, never silently dropped.
    public static func encode(_ image: RGBImage, options: EncodeOptions) throws -> [UInt8] {
        try initialize()
        try image.validate("encode")
        let format = options.format
        let failure = "could not encode the image as \(format.displayName)"
        let plane = image.width * image.height
        var pixels = image.pixels
        var alpha = image.alpha
        if let opacity = alpha, format == .jpeg {
            let background = options.background
            for c in 0..<3 {
                for i in 0..<plane {
                    let a = min(max(opacity[i], 0), 1)
                    pixels[c * plane + i] = pixels[c * plane + i] * a + background[c] * (1 - a)
                }
            }
            alpha = nil
        }
        // A profile conversion starts from RGB; the target profile decides whether grey comes out.
        let converting = if case .convert = options.colourProfile { true } else { false }
        let luma = options.gray && !converting
        let sixteenBit = options.writesSixteenBit
        var vipsImage: VipsImageHandle
        if sixteenBit {
            let samples = interleave(pixels, alpha: alpha, plane: plane, luma: luma, quantise: quantise16)
            vipsImage = try imageFromSamples(
                samples, image: image, bands: samples.count / plane,
                format: VIPS_FORMAT_USHORT, failure: failure)
        } else {
            let samples = interleave(pixels, alpha: alpha, plane: plane, luma: luma, quantise: quantise)
            vipsImage = try imageFromSamples(
                samples, image: image, bands: samples.count / plane,
                format: VIPS_FORMAT_UCHAR, failure: failure)
        }
        let interpretation =
            switch (luma, sixteenBit) {
            case (false, false): VIPS_INTERPRETATION_sRGB
            case (false, true): VIPS_INTERPRETATION_RGB16
            case (true, false): VIPS_INTERPRETATION_B_W
            case (true, true): VIPS_INTERPRETATION_GREY16
            }
        vipsImage = try vipsImage.apply(.encodeFailed, failure) {
            upscaler_vips_copy_interpretation($0, $1, interpretation)
        }

        switch options.colourProfile {
        case .none: break
        case .sRGB: vipsImage.setBlob(named: "icc-profile-data", try sRGBProfile())
        case .convert(let profile):
            vipsImage = try convertFromSRGB(vipsImage, to: profile, depth: sixteenBit ? 16 : 8, failure: failure)
        }
        let metadata = options.metadata
        if let exif = metadata.exif { vipsImage.setBlob(named: "exif-data", exif) }
        if let xmp = metadata.xmp { vipsImage.setBlob(named: "xmp-data", xmp) }
        if let iptc = metadata.iptc, format == .jpeg { vipsImage.setBlob(named: "iptc-data", iptc) }
        // With nothing attached, strip, so that libvips adds nothing of its own either.
        let strip: Int32 = metadata.hasDescriptiveMetadata || options.colourProfile != .none ? 0 : 1

        let q = Int32(min(max(options.quality, 1), 100))
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        let result = vipsImage.withPointer { pointer in
            switch format {
            case .png:
                upscaler_vips_pngsave_buffer(
                    pointer, &buffer, &length, Int32(min(max(options.pngCompression, 0), 9)),
                    sixteenBit ? 16 : 8, strip)
            case .jpeg: upscaler_vips_jpegsave_buffer(pointer, &buffer, &length, q, options.progressive ? 1 : 0, strip)
            case .webp: upscaler_vips_webpsave_buffer(pointer, &buffer, &length, q, options.lossless ? 1 : 0, strip)
            }
        }
        defer { g_free(buffer) }
        guard result == 0, let buffer else { throw vipsError(.encodeFailed, failure) }
        let encoded = [UInt8](UnsafeRawBufferPointer(start: buffer, count: length))
        return format == .webp && metadata.exif == nil ? WebPChunks.removingExif(encoded) : encoded
    }

    private static func imageFromSamples<Sample>(
        _ samples: [Sample], image: RGBImage, bands: Int,
        format: VipsBandFormat, failure: String
    ) throws -> VipsImageHandle {
        try samples.withUnsafeBytes { raw in
            guard
                let pointer = vips_image_new_from_memory_copy(
                    raw.baseAddress, raw.count, Int32(clamping: image.width), Int32(clamping: image.height),
                    Int32(bands), format)
            else {
                throw vipsError(.encodeFailed, failure)
            }
            return VipsImageHandle(owning: pointer)
        }
    }

    /// libvips' built-in sRGB profile, read once.
    private static func sRGBProfile() throws -> [UInt8] {
        try builtInSRGBProfile.get()
    }

    private static let builtInSRGBProfile: Result<[UInt8], ImagingError> = {
        var data: UnsafeMutableRawPointer?
        var length = 0
        guard upscaler_vips_srgb_profile(&data, &length) == 0, let data else {
            return .failure(vipsError(.encodeFailed, "the built-in sRGB profile is missing"))
        }
        defer { g_free(data) }
        return .success([UInt8](UnsafeRawBufferPointer(start: data, count: length)))
    }()

    /// Converts sRGB pixels to `profile` through a temporary file, because libvips takes output profiles only as file
    /// names. The file is read while the operation is built, so it can go as soon as the call returns.
    private static func convertFromSRGB(
        _ image: VipsImageHandle, to profile: [UInt8], depth: Int32,
        failure: String
    ) throws -> VipsImageHandle {
        let directory = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(directory)/upscaler-profile-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw ImagingError(.encodeFailed, message: failure, detail: "mkstemp: \(String(cString: strerror(errno)))")
        }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer { unlink(path) }
        let complete = AtomicFile.writeFully(fd, profile)
        close(fd)
        guard complete else { throw ImagingError(.encodeFailed, message: failure, detail: "could not write \(path)") }
        return try image.apply(.encodeFailed, "\(failure): the colour profile could not be applied") {
            upscaler_vips_icc_srgb_to_file($0, $1, path, depth)
        }
    }

    /// Encodes and writes atomically: the bytes go to a temporary file in the target's directory,
    /// which is then renamed over `path`. Readers see either the old file or the complete new one,
    /// and a failure leaves neither a partial target nor a temporary file behind.
    public static func write(_ image: RGBImage, to path: String, format: ImageFormat, quality: Int) throws {
        try write(image, to: path, format: format, quality: quality, lossless: false)
    }

    /// Like ``write(_:to:format:quality:)``, with `lossless` as in ``EncodeOptions/lossless``.
    public static func write(
        _ image: RGBImage, to path: String, format: ImageFormat, quality: Int, lossless: Bool
    ) throws {
        // Encode first: an encode failure must not touch the file system at all.
        let bytes = try encode(image, format: format, quality: quality, lossless: lossless)
        try writeAtomically(bytes, to: path)
    }

    /// Writes `bytes` to a temporary file beside `path`, flushes it, and renames it into place, so `path` either keeps
    /// its old content or gets the whole new one, never part of it.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw ImagingError(
                .ioFailed, message: "\(displayName(forPath: path)): cannot write the file",
                detail: error.description)
        }
    }
}
