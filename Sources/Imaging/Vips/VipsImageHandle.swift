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
