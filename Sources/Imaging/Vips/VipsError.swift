internal import CVips
internal import CVipsShim

/// The one place a libvips failure becomes a Swift error.
///
/// libvips reports errors by appending to a process-wide text buffer. `vips_error_buffer_copy()`
/// reads and clears that buffer under libvips' own lock, which is `vips_error_buffer()` followed by
/// `vips_error_clear()` without another thread's error slipping in between.
func vipsError(_ code: ImagingError.Code, _ message: String) -> ImagingError {
    var detail = ""
    if let copy = vips_error_buffer_copy() {
        detail = String(cString: copy)
        g_free(copy)
    }
    return ImagingError(code, message: message, detail: detail.trimmingTrailingNewlines)
}

/// Runs a libvips call that returns 0 on success, turning failure into an ``ImagingError``.
func vipsCheck(_ code: ImagingError.Code, _ message: @autoclosure () -> String, _ result: Int32) throws {
    if result != 0 {
        throw vipsError(code, message())
    }
}

/// Runs a libvips call that produces an image through an out-parameter and takes ownership of it.
func vipsImage(
    _ code: ImagingError.Code,
    _ message: @autoclosure () -> String,
    _ call: (UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32
) throws -> VipsImageHandle {
    var out: UnsafeMutablePointer<VipsImage>?
    let result = call(&out)
    guard result == 0, let out else {
        if let out { upscaler_vips_image_unref(out) }
        throw vipsError(code, message())
    }
    return VipsImageHandle(owning: out)
}

extension String {
    var trimmingTrailingNewlines: String {
        var s = Substring(self)
        while let last = s.last, last.isNewline { s.removeLast() }
        return String(s)
    }
}
