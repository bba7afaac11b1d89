internal import CVips
internal import CVipsShim

/// Owns one reference to a `VipsImage` and drops it in `deinit`, so no code path can leak or
/// double-free an image. The pointer is only lent out through ``withPointer(_:)``.
final class VipsImageHandle {
    private let pointer: UnsafeMutablePointer<VipsImage>

    /// Takes over a reference the caller already owns (e.g. from an operation's out-parameter).
    init(owning pointer: UnsafeMutablePointer<VipsImage>) {
        self.pointer = pointer
    }

    deinit {
        upscaler_vips_image_unref(pointer)
    }

    /// Lends the pointer; it stays valid for the closure because `self` is kept alive.
    func withPointer<R>(_ body: (UnsafeMutablePointer<VipsImage>) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(pointer) }
    }

    var width: Int { withPointer { Int(vips_image_get_width($0)) } }
    var height: Int { withPointer { Int(vips_image_get_height($0)) } }
    var bands: Int { withPointer { Int(vips_image_get_bands($0)) } }
    var bandFormat: VipsBandFormat { withPointer { vips_image_get_format($0) } }
    var interpretation: VipsInterpretation { withPointer { vips_image_get_interpretation($0) } }
    var hasAlpha: Bool { withPointer { vips_image_hasalpha($0) != 0 } }

    /// A copy of the metadata blob `name` ("exif-data", "icc-profile-data", ...), or nil when the image has none.
    func blob(named name: String) -> [UInt8]? {
        withPointer { image in
            guard vips_image_get_typeof(image, name) != 0 else { return nil }
            var data: UnsafeRawPointer?
            var length = 0
            guard vips_image_get_blob(image, name, &data, &length) == 0, let data, length > 0 else { return nil }
            return [UInt8](UnsafeRawBufferPointer(start: data, count: length))
        }
    }

    /// Attaches a copy of `bytes` as the metadata blob `name`; savers write what is attached.
    func setBlob(named name: String, _ bytes: [UInt8]) {
        withPointer { image in
            bytes.withUnsafeBytes { vips_image_set_blob_copy(image, name, $0.baseAddress, $0.count) }
        }
    }

    /// Runs another operation with this image as input.
    func apply(
        _ code: ImagingError.Code,
        _ message: @autoclosure () -> String,
        _ call: (UnsafeMutablePointer<VipsImage>, UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32
    ) throws -> VipsImageHandle {
        try withPointer { input in
            try vipsImage(code, message()) { out in call(input, out) }
        }
    }

    /// Computes every pixel into one contiguous, interleaved buffer and hands it to `body`.
    ///
    /// This is where lazy libvips pipelines actually run, so decode errors (truncation, corrupt
    /// data) surface here rather than later.
    func withPixelBytes<R>(
        _ code: ImagingError.Code,
        _ message: @autoclosure () -> String,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        var size = 0
        let memory = withPointer { vips_image_write_to_memory($0, &size) }
        guard let memory else { throw vipsError(code, message()) }
        defer { g_free(memory) }
        return try body(UnsafeRawBufferPointer(start: memory, count: size))
    }
}
