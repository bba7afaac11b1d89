import Foundation
import HTTPTypes
import Imaging
import JobStore
import Logging
import OpenAPIRuntime
import ServiceLifecycle
import UpscaleCore

/// Reading what a request carries: bounded body collection, form fields and base64.
extension APIHandler {
    func collect(_ body: HTTPBody) async throws -> [UInt8] {
        try await Self.collect(body, upTo: configuration.maxBodyBytes) {
            APIError(.contentTooLarge, .tooLarge, "the image is larger than \(configuration.maxBodyBytes) bytes")
        }
    }

    /// The body's bytes, or `tooLong()` when there are more than `limit`. Other failures (a stream cut short, a
    /// malformed form) pass on as they are.
    static func collect(_ body: HTTPBody, upTo limit: Int, tooLong: () -> APIError) async throws -> [UInt8] {
        do {
            return try await [UInt8](collecting: body, upTo: limit)
        } catch let error as APIError {
            throw error
        } catch  where String(describing: error).contains("more than the maximum allowed") {
            // OpenAPIRuntime's own error for this is private; its text is what names it.
            throw tooLong()
        }
    }

    static func text(_ body: HTTPBody, _ name: String) async throws -> String {
        let bytes = try await collect(body, upTo: 1024) {
            APIError.badRequest(.invalidRequest, "the form field '\(name)' is longer than 1024 bytes")
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func number(_ body: HTTPBody, _ name: String, code: ErrorCode) async throws -> Double {
        let bytes = try await collect(body, upTo: 64) {
            APIError.badRequest(code, "the form field '\(name)' is longer than 64 bytes")
        }
        let value = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let number = Double(value) else {
            throw APIError.badRequest(code, "\(name) must be a number, got '\(value.prefix(20))'")
        }
        return number
    }

    static func fields(_ body: Components.Schemas.UpscaleRequest) -> JobRequest.Fields {
        JobRequest.Fields(
            scale: body.scale, outputExt: body.outputExt, model: body.model, quality: body.quality,
            tile: body.tile, background: body.background, keepProfile: body.keepProfile,
            stripMetadata: body.stripMetadata)
    }

    /// The image of a base64 field, read as UTF-8 bytes (a 60 MB field is never split into Characters): an optional
    /// `data:...;base64,` prefix, whitespace anywhere, and missing `=` padding are accepted. The text is decoded in
    /// slices of ``base64Slice`` characters straight into the image, so that besides the field and the image only one
    /// slice is held: no cleaned copy of the text, no second copy of the image.
    static func decodeBase64(_ text: String) throws -> [UInt8] {
        try decodeBase64(bytes: Substring(text).utf8)
    }

    /// The same, over the field's UTF-8 bytes wherever they lie.
    static func decodeBase64<Bytes: Collection<UInt8>>(bytes text: Bytes) throws -> [UInt8] {
        var bytes = text[...]
        if bytes.starts(with: "data:".utf8), let comma = bytes.prefix(256).firstIndex(of: UInt8(ascii: ",")) {
            bytes = bytes[bytes.index(after: comma)...]
        }
        let invalid = APIError.badRequest(.invalidBase64, "the image field is not valid base64")
        var image: [UInt8] = []
        image.reserveCapacity(bytes.count / 4 * 3 + 3)
        var slice: [UInt8] = []
        slice.reserveCapacity(min(bytes.count, base64Slice) + 3)
        var padding = false
        func decodeSlice() throws {
            guard let decoded = Data(base64Encoded: Data(slice)) else { throw invalid }
            image.append(contentsOf: decoded)
            slice.removeAll(keepingCapacity: true)
        }
        for byte in bytes where byte != 0x20 && byte != 0x0A && byte != 0x0D && byte != 0x09 {
            // `=` only ends the text: anything after it would otherwise start a new slice as if it were valid.
            if byte == UInt8(ascii: "=") {
                padding = true
            } else if padding {
                throw invalid
            }
            slice.append(byte)
            if slice.count == base64Slice { try decodeSlice() }
        }
        guard !image.isEmpty || !slice.isEmpty else {
            throw APIError.badRequest(.missingImage, "the image field is empty")
        }
        if slice.count % 4 != 0 {
            slice.append(contentsOf: repeatElement(UInt8(ascii: "="), count: 4 - slice.count % 4))
        }
        if !slice.isEmpty { try decodeSlice() }
        return image
    }

    /// The image reader of a JSON body: the text ``ImageFieldMiddleware`` lifted out of a large body, else the field
    /// the generated decoding made. The box is found here, in the operation's task (the reader runs on the thread
    /// pool), and emptied where the text is decoded, so the body's bytes go as soon as the image is made.
    static func jsonImage(_ field: String) -> @Sendable () throws -> [UInt8] {
        guard let uploaded = RequestInfo.uploadedImage else { return { try decodeBase64(field) } }
        return {
            guard let text = uploaded.take() else { return try decodeBase64(field) }
            guard uploaded.escapedSlashes else { return try decodeBase64(bytes: text) }
            return try decodeBase64(bytes: text.lazy.filter { $0 != UInt8(ascii: "\\") })
        }
    }

    /// Base64 characters decoded at a time (a multiple of 4: every slice but the last is whole groups).
    static let base64Slice = 1 << 22

    /// 128 random bits as 32 hex digits: unguessable, so a job id alone reveals nothing.
}
