// PNG files built byte by byte (stored deflate blocks, own CRC and Adler-32), so expectations never come from
// the decoder under test. Shared by the Imaging and pipeline tests.

/// A minimal PNG writer (stored, uncompressed deflate blocks), independent of libvips.
public enum TestPNG {
    public enum ColorType: UInt8 {
        case gray = 0, rgb = 2, grayAlpha = 4, rgba = 6
        public var channels: Int {
            switch self {
            case .gray: 1;
            case .rgb: 3;
            case .grayAlpha: 2;
            case .rgba: 4
            }
        }
    }

    /// `samples` are interleaved per pixel; 0...255 for 8-bit, 0...65535 for 16-bit.
    public static func encode(width: Int, height: Int, colorType: ColorType, bitDepth: Int = 8, samples: [UInt16])
        -> [UInt8]
    {
        precondition(samples.count == width * height * colorType.channels)
        var raw: [UInt8] = []
        let rowSamples = width * colorType.channels
        for y in 0..<height {
            raw.append(0)  // filter: none
            for s in samples[(y * rowSamples)..<((y + 1) * rowSamples)] {
                if bitDepth == 16 { raw += [UInt8(s >> 8), UInt8(s & 0xFF)] } else { raw.append(UInt8(s)) }
            }
        }
        return signature + ihdr(width: width, height: height, bitDepth: bitDepth, colorType: colorType.rawValue)
            + chunk("IDAT", zlibStored(raw)) + chunk("IEND", [])
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }

    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func ihdr(width: Int, height: Int, bitDepth: Int, colorType: UInt8) -> [UInt8] {
        chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [UInt8(bitDepth), colorType, 0, 0, 0])
    }

    public static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return be32(UInt32(data.count)) + typeBytes + data + be32(crc32(typeBytes + data))
    }

    public static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final] + le16(UInt16(n)) + le16(~UInt16(n))
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        return out + be32(adler32(data))
    }

    public static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    public static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in bytes { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        return (b << 16) | a
    }

    /// A valid signature and IHDR claiming `width`×`height` RGB, then one IDAT of garbage:
    /// the header is honest PNG, the pixel data could never decode.
    public static func hugeHeader(width: Int = 100_000, height: Int = 100_000) -> [UInt8] {
        var rng = SeededRandom(seed: 7)
        let garbage = (0..<256).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return signature + ihdr(width: width, height: height, bitDepth: 8, colorType: 2) + chunk("IDAT", garbage)
    }
}
