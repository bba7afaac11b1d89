/// Just enough of WebP's RIFF container to drop a metadata chunk.
///
/// libvips 8.14's WebP saver writes an EXIF chunk of its own (resolution and orientation) even with `strip` set, so an
/// output that should carry no EXIF has it removed here. The VP8X header's flag for the chunk is cleared to match.
enum WebPChunks {
    /// VP8X feature flags (the first byte of its payload).
    private static let exifFlag: UInt8 = 0x08

    /// `webp` without its EXIF chunk; unchanged if it has none or is not a well-formed extended WebP.
    static func removingExif(_ webp: [UInt8]) -> [UInt8] {
        guard webp.count >= 12, webp[0..<4].elementsEqual("RIFF".utf8), webp[8..<12].elementsEqual("WEBP".utf8)
        else { return webp }
        var output = Array(webp[0..<12])
        var offset = 12
        var removed = false
        while offset + 8 <= webp.count {
            let size =
                Int(webp[offset + 4]) | Int(webp[offset + 5]) << 8 | Int(webp[offset + 6]) << 16
                | Int(webp[offset + 7]) << 24
            let end = offset + 8 + size + (size & 1)  // chunks are padded to even sizes
            guard end <= webp.count else { return webp }
            if webp[offset..<offset + 4].elementsEqual("EXIF".utf8) {
                removed = true
            } else {
                output += webp[offset..<end]
            }
            offset = end
        }
        guard removed, offset == webp.count else { return webp }
        if output.count > 20, output[12..<16].elementsEqual("VP8X".utf8) { output[20] &= ~exifFlag }
        let riffSize = UInt32(output.count - 8)
        for i in 0..<4 { output[4 + i] = UInt8((riffSize >> (8 * UInt32(i))) & 0xFF) }
        return output
    }
}
