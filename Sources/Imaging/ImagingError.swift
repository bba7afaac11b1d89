/// An imaging failure. `message` is one line that is safe to show to whoever sent the image;
/// `detail` is libvips' own text, for logs only (it can name internal paths and library internals).
public struct ImagingError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, coarse enough for callers to map onto a response (e.g. 413 vs 415 vs 400).
    public enum Code: Sendable {
        /// Corrupt, truncated or empty input.
        case unreadable
        /// A well-formed file in a format we do not accept (only PNG, JPEG and WebP are).
        case unsupportedFormat
        /// The header declares more pixels than the limits allow.
        case tooLarge
        /// The input has more bytes than the limits allow.
        case fileTooLarge
        /// libvips could not encode the output.
        case encodeFailed
        /// Reading or writing a file failed.
        case ioFailed
        /// libvips could not start.
        case libraryInit
        /// The caller passed an inconsistent image or an impossible size.
        case invalidArgument
    }

    /// What went wrong.
    public let code: Code
    /// One line, safe to show users, e.g. "photo.jpg: not a PNG, JPEG or WebP image".
    public let message: String
    /// libvips' own error text (or other internal context), for logs.
    public let detail: String

    /// Creates an error; `message` is flattened to one line.
    public init(_ code: Code, message: String, detail: String = "") {
        self.code = code
        self.message = message.oneLine
        self.detail = detail
    }

    /// The public message, so that printing the error never leaks `detail`.
    public var description: String { message }
}

extension String {
    /// Control characters (newlines included) replaced by spaces, so a hostile file name cannot
    /// forge extra log or terminal lines.
    var oneLine: String {
        String(
            String.UnicodeScalarView(
                unicodeScalars.map {
                    $0.properties.generalCategory == .control ? " " : $0
                }))
    }
}
