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

    /// Standard base64, with or without padding, whitespace and a `data:image/...;base64,` prefix allowed.
    /// The image of a base64 field, read as UTF-8 bytes (a 60 MB field is never split into Characters): an optional
    /// `data:...;base64,` prefix, whitespace anywhere, and missing `=` padding are accepted.
    static func decodeBase64(_ text: String) throws -> [UInt8] {
        var bytes = Substring(text).utf8[...]
        if bytes.starts(with: "data:".utf8), let comma = bytes.prefix(256).firstIndex(of: UInt8(ascii: ",")) {
            bytes = bytes[bytes.index(after: comma)...]
        }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
        var encoded: Data
        if bytes.contains(where: isSpace) {
            encoded = Data(capacity: bytes.count + 3)
            for byte in bytes where !isSpace(byte) { encoded.append(byte) }
        } else {
            encoded = Data(bytes)
        }
        guard !encoded.isEmpty else { throw APIError.badRequest(.missingImage, "the image field is empty") }
        if encoded.count % 4 != 0 {
            encoded.append(contentsOf: repeatElement(UInt8(ascii: "="), count: 4 - encoded.count % 4))
        }
        guard let data = Data(base64Encoded: encoded) else {
            throw APIError.badRequest(.invalidBase64, "the image field is not valid base64")
        }
        return [UInt8](data)
    }

    /// 128 random bits as 32 hex digits: unguessable, so a job id alone reveals nothing.
}
