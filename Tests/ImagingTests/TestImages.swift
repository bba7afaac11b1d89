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
        let pixels =
            [Float](repeating: rgb.0, count: plane) + [Float](repeating: rgb.1, count: plane)
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

    static let text: [UInt8] = Array("hello, this is not an image\n".utf8)

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
}
