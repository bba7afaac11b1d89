internal import CVips
internal import CVipsShim

/// Owns one reference to a `VipsSource` (a file or an in-memory copy of the input bytes).
final class VipsSourceHandle {
    private let pointer: UnsafeMutablePointer<VipsSource>

    /// Opens a file. Unlike `vips_image_new_from_file`, a source never parses `[options]` out of the
    /// path, so a file named `x.png[...]` is just a file name.
    init(file path: String, name: String) throws {
        guard let source = vips_source_new_from_file(path) else {
            throw vipsError(.ioFailed, "\(name): cannot open the file")
        }
        pointer = source
    }

    /// Copies `data` so the source never points into memory Swift may move or free.
    init(data: [UInt8], name: String) throws {
        let source = data.withUnsafeBytes { bytes in
            upscaler_vips_source_new_from_copy(bytes.baseAddress, bytes.count)
        }
        guard let source else {
            throw vipsError(.ioFailed, "\(name): cannot read the image data")
        }
        pointer = source
    }

    deinit {
        upscaler_vips_source_unref(pointer)
    }

    /// Lends the pointer for the duration of `body`.
    func withPointer<R>(_ body: (UnsafeMutablePointer<VipsSource>) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(pointer) }
    }
}
