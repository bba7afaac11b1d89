/// Finds the top-level `"image"` string of a JSON job request in its raw bytes, so that a large body's base64 text is
/// decoded where it lies instead of first becoming a `String` (a second copy of the body) in the generated decoding.
///
/// It only answers when the answer is certain: a top-level object whose one `image` member is a string of printable
/// ASCII whose only escape is `\/` (which JSON encoders such as PHP's write for every `/` of base64). The rest of the
/// body goes to the generated decoding unchanged (with the string emptied), which checks it as before; anything else
/// (another escape, a control character, a duplicate key, a body that is not an object) answers nil, and the body is
/// decoded the usual way.
enum ImageFieldScanner {
    /// Where the image string's contents lie (between its quotes), and whether its slashes are escaped (`\/`, so the
    /// text is the bytes without their backslashes); nil when the body is to be decoded the usual way.
    static func imageRange(in bytes: [UInt8]) -> (range: Range<Int>, escapedSlashes: Bool)? {
        var scanner = Cursor(bytes: bytes)
        var found: (range: Range<Int>, escapedSlashes: Bool)?
        scanner.skipSpace()
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        scanner.skipSpace()
        if scanner.take(UInt8(ascii: "}")) { return nil }
        while true {
            guard let key = scanner.string() else { return nil }
            scanner.skipSpace()
            guard scanner.take(UInt8(ascii: ":")) else { return nil }
            scanner.skipSpace()
            if bytes[key].elementsEqual("image".utf8) {
                guard found == nil, let value = scanner.string(), let escaped = Self.plainness(bytes[value]) else {
                    return nil
                }
                found = (value, escaped)
            } else {
                guard scanner.skipValue() else { return nil }
            }
            scanner.skipSpace()
            if scanner.take(UInt8(ascii: ",")) {
                scanner.skipSpace()
                continue
            }
            guard scanner.take(UInt8(ascii: "}")) else { return nil }
            scanner.skipSpace()
            return scanner.atEnd ? found : nil
        }
    }

    /// Whether the string is printable ASCII whose only escape is `\/`: nil when not, else whether it has one.
    private static func plainness(_ bytes: ArraySlice<UInt8>) -> Bool? {
        var escaped = false
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte >= 0x20 && byte < 0x7F else { return nil }
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.endIndex, bytes[index + 1] == UInt8(ascii: "/") else { return nil }
                escaped = true
                index += 1
            }
            index += 1
        }
        return escaped
    }

    private struct Cursor {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A string at the cursor: the range of its contents, the cursor after its closing quote.
        mutating func string() -> Range<Int>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index += 1
                    return start..<(index - 1)
                case UInt8(ascii: "\\"): index += 2
                default: index += 1
                }
            }
            return nil
        }

        /// Steps over one value of any kind without judging it: the generated decoding does that.
        mutating func skipValue() -> Bool {
            var depth = 0
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard string() != nil else { return false }
                    if depth == 0 { return true }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return true }  // the end of the enclosing object: a value was missing or ended
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return true
                    }
                case UInt8(ascii: ","), 0x20, 0x0A, 0x0D, 0x09:
                    if depth == 0 { return true }
                default: break
                }
                index += 1
            }
            return depth == 0
        }
    }
}
