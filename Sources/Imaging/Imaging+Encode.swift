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
    /// Encodes as PNG, JPEG or lossy WebP.
    ///
    /// Each value is quantised as `UInt8(clamp(v, 0, 1) * 255 + 0.5)` (round half up; NaN → 0).
    /// `quality` (clamped to 1...100) applies to JPEG and lossy WebP and is ignored for PNG;
    /// callers normally pass 95. Metadata is not written.
    public static func encode(_ image: RGBImage, format: ImageFormat, quality: Int) throws -> [UInt8] {
        try encode(image, format: format, quality: quality, lossless: false)
    }

    /// Like ``encode(_:format:quality:)``; `lossless` selects lossless WebP, which keeps every
    /// 8-bit value exactly (even lossy WebP at quality 100 subsamples colour). PNG is always
    /// lossless and JPEG never is, so the flag only changes WebP.
    ///
    /// `gray` writes one luma band (Rec. 709 weights on the encoded values): a true grayscale PNG or JPEG. WebP has no
    /// grayscale form, so there it comes out as equal RGB channels.
    ///
    /// An alpha plane is written as a fourth (or, gray, second) band in PNG and WebP. JPEG has no alpha, so there the
    /// image is flattened onto `background` (RGB in [0, 1], white by default), never silently dropped.
    public static func encode(_ image: RGBImage, format: ImageFormat, quality: Int, lossless: Bool,
                              gray: Bool = false, background: SIMD3<Float> = SIMD3(1, 1, 1)) throws -> [UInt8] {
        try initialize()
        try image.validate("encode")
        let plane = image.width * image.height
        var pixels = image.pixels
        var alpha = image.alpha
        if let opacity = alpha, format == .jpeg {
            for c in 0..<3 {
                for i in 0..<plane {
                    let a = min(max(opacity[i], 0), 1)
                    pixels[c * plane + i] = pixels[c * plane + i] * a + background[c] * (1 - a)
                }
            }
            alpha = nil
        }
        var bytes = gray ? lumaBytes(pixels, plane: plane) : interleaveToBytes(pixels, plane: plane)
        let colourBands = gray ? 1 : 3
        if let alpha {
            var withAlpha = [UInt8](repeating: 0, count: plane * (colourBands + 1))
            for i in 0..<plane {
                for b in 0..<colourBands { withAlpha[i * (colourBands + 1) + b] = bytes[i * colourBands + b] }
                withAlpha[i * (colourBands + 1) + colourBands] = quantise(alpha[i])
            }
            bytes = withAlpha
        }
        let bands = Int32(colourBands + (alpha == nil ? 0 : 1))
        let vipsImage = try bytes.withUnsafeBytes { raw in
            guard let pointer = vips_image_new_from_memory_copy(
                raw.baseAddress, raw.count, Int32(clamping: image.width), Int32(clamping: image.height),
                bands, VIPS_FORMAT_UCHAR)
            else {
                throw vipsError(.encodeFailed, "could not encode the image as \(format.displayName)")
            }
            return VipsImageHandle(owning: pointer)
        }
        let q = Int32(min(max(quality, 1), 100))
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        let result = vipsImage.withPointer { pointer in
            switch format {
            case .png: upscaler_vips_pngsave_buffer(pointer, &buffer, &length)
            case .jpeg: upscaler_vips_jpegsave_buffer(pointer, &buffer, &length, q)
            case .webp: upscaler_vips_webpsave_buffer(pointer, &buffer, &length, q, lossless ? 1 : 0)
            }
        }
        defer { g_free(buffer) }
        guard result == 0, let buffer else {
            throw vipsError(.encodeFailed, "could not encode the image as \(format.displayName)")
        }
        return [UInt8](UnsafeRawBufferPointer(start: buffer, count: length))
    }

    /// Encodes and writes atomically: the bytes go to a temporary file in the target's directory,
    /// which is then renamed over `path`. Readers see either the old file or the complete new one,
    /// and a failure leaves neither a partial target nor a temporary file behind.
    public static func write(_ image: RGBImage, to path: String, format: ImageFormat, quality: Int) throws {
        try write(image, to: path, format: format, quality: quality, lossless: false)
    }

    /// Like ``write(_:to:format:quality:)``, with `lossless` as in ``encode(_:format:quality:lossless:)``.
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
        let name = displayName(forPath: path)
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        func failure(_ what: String) -> ImagingError {
            let reason = String(cString: strerror(errno))
            return ImagingError(.ioFailed, message: "\(name): cannot write the file", detail: "\(what) \(path): \(reason)")
        }

        var template = Array("\(directory)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw failure("create temporary file for") }
        let temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var renamed = false
        defer { if !renamed { unlink(temporaryPath) } }

        do {
            defer { close(fd) }
            // mkstemp creates 0600; results are ordinary files that other readers may serve.
            guard fchmod(fd, 0o644) == 0 else { throw failure("set permissions for") }
            try bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = posixWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw failure("write")
                    }
                    offset += written
                }
            }
            // Flush before rename, so a crash cannot leave a renamed but empty file.
            guard fsync(fd) == 0 else { throw failure("sync") }
        }
        guard rename(temporaryPath, path) == 0 else { throw failure("rename into") }
        renamed = true
    }
}

/// `write(2)`, named apart from ``Imaging/write(_:to:format:quality:)`` which shadows it inside the extension.
@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
