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

    /// The longest side the format can hold: WebP's 14-bit fields, JPEG's 16-bit ones.
    public var maxSide: Int {
        switch self {
        case .png: Int(Int32.max)
        case .jpeg: 65_535
        case .webp: 16_383
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

/// Stored and sent as its file extension (`"png"`, `"jpg"`, `"webp"`); `"jpeg"` and any case are read too.
extension ImageFormat: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let format = ImageFormat(name: name) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(name)' is not png, jpg or webp")
        }
        self = format
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(fileExtension)
    }
}
