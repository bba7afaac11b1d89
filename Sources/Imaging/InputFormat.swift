internal import CVipsShim

/// The containers Upscaler reads. Outputs are always an ``ImageFormat``.
public enum InputFormat: String, CaseIterable, Sendable {
    case png
    case jpeg
    case webp
    /// First page only.
    case tiff
    /// First frame only.
    case gif
    /// HEIC and AVIF, through libheif; which codecs decode depends on how libheif was built.
    case heif

    /// The input format of a file written as `format`: everything Upscaler writes, it reads.
    public init(_ format: ImageFormat) {
        switch format {
        case .png: self = .png
        case .jpeg: self = .jpeg
        case .webp: self = .webp
        }
    }

    /// Upper-case name for messages and `upscaler formats`.
    public var displayName: String {
        switch self {
        case .png: "PNG"
        case .jpeg: "JPEG"
        case .webp: "WebP"
        case .tiff: "TIFF"
        case .gif: "GIF"
        case .heif: "HEIF/AVIF"
        }
    }

    /// File name extensions that folder inputs pick up.
    public var fileExtensions: [String] {
        switch self {
        case .png: ["png"]
        case .jpeg: ["jpg", "jpeg"]
        case .webp: ["webp"]
        case .tiff: ["tif", "tiff"]
        case .gif: ["gif"]
        case .heif: ["heic", "heif", "avif"]
        }
    }

    /// The libvips loader that reads it from a source.
    var loaderNickname: String {
        switch self {
        case .png: "pngload_source"
        case .jpeg: "jpegload_source"
        case .webp: "webpload_source"
        case .tiff: "tiffload_source"
        case .gif: "gifload_source"
        case .heif: "heifload_source"
        }
    }

    /// Whether the installed libvips can read it. PNG, JPEG and WebP are required at build time; TIFF, GIF and
    /// HEIF/AVIF depend on how libvips was packaged (HEIF is a loadable module).
    public var isAvailable: Bool {
        (try? Imaging.initialize()) != nil && upscaler_vips_has_operation(loaderNickname) != 0
    }

    /// The formats this machine reads, in declaration order.
    public static var available: [InputFormat] { allCases.filter(\.isAvailable) }
}
