import Foundation
import Testing

@testable import UpscaleServer

/// The scanner that lifts a large body's image text out before the generated decoding, against answers worked out by
/// hand, and the bodies it must leave to that decoding.
@Suite struct ImageFieldScannerTests {
    @Test(arguments: [
        (#"{"image":"QUJD"}"#, "QUJD"),
        (#"{"image":"QU\/JD\/"}"#, #"QU\/JD\/"#),
        (#" { "scale" : 2 , "image" : "QUJD" , "model":"m" } "#, "QUJD"),
        (#"{"nested":{"image":"x","a":[1,{"b":"}"}]},"image":"QUJD","s":"a\"b"}"#, "QUJD"),
        (#"{"image":""}"#, ""),
        (#"{"image":"data:image/png;base64,QUJD"}"#, "data:image/png;base64,QUJD"),
    ])
    func findsTheImageString(json: String, expected: String) throws {
        let bytes = Array(json.utf8)
        let found = try #require(ImageFieldScanner.imageRange(in: bytes))
        #expect(String(decoding: bytes[found.range], as: UTF8.self) == expected)
        #expect(found.escapedSlashes == expected.contains("\\/"))
    }

    @Test(arguments: [
        #"{"image":"QU\nJD"}"#, #"{"image":"QU\u0041"}"#, #"{"image":"QUJD\"}"#,  // escapes other than \/
        "{\"image\":\"QU\nJD\"}",  // a raw line break: not valid JSON
        #"{"image":"QUJD","image":"QUJD"}"#,  // twice
        #"{"image":1}"#, #"{"scale":2}"#, #"["image","QUJD"]"#, #"{"image":"QUJD""#, #"{"image":"QUJD"} x"#,
        #"{"image":"QUJD" "scale":2}"#, #"{"image" "QUJD"}"#, "", "{}", "{\"image\":\"Q\u{e9}\"}",
    ])
    func leavesUncertainBodiesAlone(json: String) {
        #expect(ImageFieldScanner.imageRange(in: Array(json.utf8)) == nil)
    }
}
