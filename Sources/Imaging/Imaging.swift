internal import CVips
internal import CVipsShim

/// Decode, encode and resize images with libvips, behind a C-free API.
///
/// Every entry point initialises libvips on first use, so calling ``initialize()`` up front only
/// moves the cost (and any failure) to start-up.
public enum Imaging {
    /// Starts libvips once per process; later calls return the first outcome.
    ///
    /// Untrusted loaders (ImageMagick, PDF, SVG and friends) are blocked: we only ever decode
    /// PNG, JPEG and WebP, and the blocked loaders are the ones with a history of exploitable bugs.
    /// The operation cache is switched off because every request works on new pixels; caching
    /// them would only hold memory.
    public static func initialize() throws {
        try startup.get()
    }

    private static let startup: Result<Void, ImagingError> = {
        guard upscaler_vips_init("upscaler") == 0 else {
            return .failure(vipsError(.libraryInit, "the image library could not start"))
        }
        vips_block_untrusted_set(1)
        vips_cache_set_max(0)
        // One libvips worker thread. With more, a PNG whose compressed pixel data is garbage intermittently decoded
        // "successfully" under load (about 1 run in 25 with the CPU busy; the test corruptPixelDataIsUnreadable
        // caught it), so an error in a worker is sometimes lost. Decoding is a small share of an upscale, and the
        // engine has its own threads.
        vips_concurrency_set(1)
        // libvips also prints each failure as a GLib warning on stderr. Every failure already
        // reaches the caller as an ImagingError with libvips' text in `detail`, so the copy on
        // stderr is noise (and would let any client write to the server's stderr at will).
        g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, { _, _, _, _ in }, nil)
        return .success(())
    }()

    /// The name used in user-facing messages: the last path component only, so that server-side
    /// directory layout never reaches a client.
    static func displayName(forPath path: String) -> String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        if let slash = trimmed.lastIndex(of: "/") {
            return String(trimmed[trimmed.index(after: slash)...])
        }
        return trimmed
    }
}
