import NIOConcurrencyHelpers

/// A large JSON body's base64 image text, lifted out of the body before the generated decoding (see
/// ``ImageFieldMiddleware``) and handed to the operation, which takes it once: after that the body's bytes are freed
/// with the last reference, not held while `POST /upscale` waits for its job.
final class UploadedImage: Sendable {
    private let text: NIOLockedValueBox<ArraySlice<UInt8>?>
    /// The text writes each `/` as `\/`: its backslashes are not part of the base64.
    let escapedSlashes: Bool

    init(_ text: ArraySlice<UInt8>, escapedSlashes: Bool) {
        self.text = NIOLockedValueBox(text)
        self.escapedSlashes = escapedSlashes
    }

    /// The text as JSON wrote it, the first time; nil after.
    func take() -> ArraySlice<UInt8>? {
        text.withLockedValue { text in
            defer { text = nil }
            return text
        }
    }
}
