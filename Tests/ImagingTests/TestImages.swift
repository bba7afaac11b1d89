// Test inputs built without libvips, so expectations never come from the code under test.

import Foundation
import Imaging
import TestSupport

enum TestImages {
    /// Every value an exact multiple of 1/255, so PNG must give them back bit for bit.
    static func randomQuantised(width: Int, height: Int, seed: UInt64) -> (image: RGBImage, levels: [UInt8]) {
        var rng = SeededRandom(seed: seed)
        let levels = (0..<(3 * width * height)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return (RGBImage(width: width, height: height, pixels: levels.map { Float($0) / 255 }), levels)
    }

    /// Low-frequency content (what lossy codecs and resamplers are designed to keep).
    static func smooth(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var rng = SeededRandom(seed: seed)
        var pixels = [Float](repeating: 0, count: 3 * width * height)
        for c in 0..<3 {
            let fx = Double.random(in: 0.5...1.5, using: &rng), fy = Double.random(in: 0.5...1.5, using: &rng)
            let phase = Double.random(in: 0...6, using: &rng)
            for y in 0..<height {
                for x in 0..<width {
                    let u = Double(x) / Double(width), v = Double(y) / Double(height)
                    let value = 0.5 + 0.35 * sin(2 * Double.pi * (fx * u + fy * v) + phase)
                    pixels[c * width * height + y * width + x] = Float(value)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func constant(width: Int, height: Int, rgb: (Float, Float, Float)) -> RGBImage {
        let plane = width * height
        let pixels = [Float](repeating: rgb.0, count: plane) + [Float](repeating: rgb.1, count: plane)
            + [Float](repeating: rgb.2, count: plane)
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    // MARK: - Hand-made file bytes

    static let gif1x1: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
        0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]

    /// 1×1, 24-bit, uncompressed Windows bitmap.
    static let bmp1x1: [UInt8] = {
        var b: [UInt8] = Array("BM".utf8)
        b += le32(58) + le32(0) + le32(54)
        b += le32(40) + le32(1) + le32(1) + le16(1) + le16(24) + le32(0) + le32(4)
        b += le32(2835) + le32(2835) + le32(0) + le32(0)
        b += [0x10, 0x20, 0x30, 0x00]
        return b
    }()

    /// Little-endian TIFF signature and a first-IFD offset: enough for any sniffer to say "TIFF".
    static let tiffStart: [UInt8] = [0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00] + [UInt8](repeating: 0, count: 64)

    static let text: [UInt8] = Array("hello, this is not an image\n".utf8)

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
}

/// A minimal PNG writer (stored, uncompressed deflate blocks), independent of libvips.
enum TestPNG {
    enum ColorType: UInt8 { case gray = 0, rgb = 2, grayAlpha = 4, rgba = 6
        var channels: Int { switch self { case .gray: 1; case .rgb: 3; case .grayAlpha: 2; case .rgba: 4 } }
    }

    /// `samples` are interleaved per pixel; 0...255 for 8-bit, 0...65535 for 16-bit.
    static func encode(width: Int, height: Int, colorType: ColorType, bitDepth: Int = 8, samples: [UInt16]) -> [UInt8] {
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

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func ihdr(width: Int, height: Int, bitDepth: Int, colorType: UInt8) -> [UInt8] {
        chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [UInt8(bitDepth), colorType, 0, 0, 0])
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return be32(UInt32(data.count)) + typeBytes + data + be32(crc32(typeBytes + data))
    }

    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final] + TestImages.le16(UInt16(n)) + TestImages.le16(~UInt16(n))
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        return out + be32(adler32(data))
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in bytes { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        return (b << 16) | a
    }

    /// A valid signature and IHDR claiming `width`×`height` RGB, then one IDAT of garbage:
    /// the header is honest PNG, the pixel data could never decode.
    static func hugeHeader(width: Int = 100_000, height: Int = 100_000) -> [UInt8] {
        var rng = SeededRandom(seed: 7)
        let garbage = (0..<256).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return signature + ihdr(width: width, height: height, bitDepth: 8, colorType: 2) + chunk("IDAT", garbage)
    }
}
