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

    @Test(arguments: [("%%%not base64%%%", ErrorCode.invalidBase64), ("", .missingImage), (" \n", .missingImage)])
    func refuses(field: String, code: ErrorCode) {
        #expect {
            try APIHandler.decodeBase64(field)
        } throws: { error in
            (error as? APIError)?.code == code
        }
    }
}
