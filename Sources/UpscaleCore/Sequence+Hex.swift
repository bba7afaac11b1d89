extension Sequence<UInt8> {
    /// Lowercase hexadecimal, two digits per byte: how `sha256sum` prints a digest and how the manifests, the tokens
    /// file and signed links spell one.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
