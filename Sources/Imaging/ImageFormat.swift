/// The image formats Upscaler reads and writes.
public enum ImageFormat: String, CaseIterable, Sendable {
    case png
    case jpeg
    case webp

    /// The file extension used for outputs: "png", "jpg", "webp".
    public var fileExtension: String {
        switch self {
        case .png: "png"
        case .jpeg: "jpg"
        case .webp: "webp"
        }
    }

    /// Parses "png", "jpg", "jpeg" or "webp", ignoring case; nil for anything else.
    public init?(name: String) {
        switch name.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        case "webp": self = .webp
        default: return nil
        }
    }

    /// Upper-case name for messages shown to users.
    var displayName: String {
        switch self {
        case .png: "PNG"
        case .jpeg: "JPEG"
        case .webp: "WebP"
        }
    }
}
