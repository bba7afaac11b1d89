import Foundation
import JobStore
import Testing

@testable import UpscaleServer

/// The base64 image field, against answers written out by hand: prefixes, whitespace and missing padding are
/// accepted, anything else is the client's error with its code.
@Suite struct Base64FieldTests {
    @Test(arguments: [
        ("aGVsbG8=", "hello"), ("aGVsbG8", "hello"), ("data:image/png;base64,aGVs bG8=\n", "hello"),
        ("aGVs\r\nbG8g\td29ybGQ=", "hello world"),
    ])
    func decodes(field: String, expected: String) throws {
        #expect(try APIHandler.decodeBase64(field) == Array(expected.utf8))
    }

    @Test(arguments: [
        ("%%%not base64%%%", ErrorCode.invalidBase64), ("", .missingImage), (" \n", .missingImage),
        ("aGVs=bG8=", .invalidBase64),
    ])
    func refuses(field: String, code: ErrorCode) {
        #expect {
            try APIHandler.decodeBase64(field)
        } throws: { error in
            (error as? APIError)?.code == code
        }
    }

    /// A field of several decoding slices, broken into 76-character lines as MIME writes base64 (so line breaks fall
    /// on both sides of the slice edges), gives back the bytes Foundation encoded.
    @Test func fieldsLongerThanOneSlice() throws {
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<(APIHandler.base64Slice * 2 + 1234)).map { _ in UInt8.random(in: 0...255, using: &random) }
        let field = Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
        #expect(try APIHandler.decodeBase64(field) == bytes)
        #expect(try APIHandler.decodeBase64("data:image/png;base64," + Data(bytes).base64EncodedString()) == bytes)
    }
}
