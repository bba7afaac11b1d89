import Foundation
import Imaging
import TestSupport
import Testing

/// Encoding, round trips and atomic writes.
@Suite struct ImagingEncodeTests {
    init() throws { try Imaging.initialize() }

    @Test(arguments: [(1, 1), (7, 3), (64, 48), (257, 5)])
    func pngRoundTripIsExact(width: Int, height: Int) throws {
        let (image, expected) = TestImages.randomQuantised(
            width: width, height: height, seed: UInt64(width * 1000 + height))
        let png = try Imaging.encode(image, format: .png, quality: 95)
        #expect(Array(png.prefix(8)) == TestPNG.signature)
        let decoded = try Imaging.decode(data: png, limits: .default)
        #expect(decoded.width == width && decoded.height == height)
        #expect(levels(decoded) == expected)
    }

    @Test func quantisationClampsAndRoundsHalfUp() throws {
        // 0.5 * 255 + 0.5 = 128.0 -> 128; 0.2 * 255 + 0.5 = 51.5 -> 51; just below k + 0.5 rounds down.
        let values: [Float] = [-1, 0, 0.5, 1, 2, .nan, .infinity, -.infinity, 0.2, (100.5 - 0.01) / 255, 100.5 / 255]
        let expected: [UInt8] = [0, 0, 128, 255, 255, 0, 255, 0, 51, 100, 101]
        let n = values.count
        let image = RGBImage(width: n, height: 1, pixels: values + values + values)
        let decoded = try Imaging.decode(data: try Imaging.encode(image, format: .png, quality: 95), limits: .default)
        let px = levels(decoded)
        #expect(Array(px[0..<n]) == expected)
        #expect(Array(px[n..<(2 * n)]) == expected)
        #expect(Array(px[(2 * n)...]) == expected)
    }

    /// JPEG at quality 95 on smooth content: mean error under 1.5 levels, worst under 8 levels of 255.
    @Test(arguments: [(64, 64), (37, 23), (200, 120)])
    func jpegRoundTripIsClose(width: Int, height: Int) throws {
        let image = TestImages.smooth(width: width, height: height, seed: 21)
        let jpeg = try Imaging.encode(image, format: .jpeg, quality: 95)
        #expect(Array(jpeg.prefix(3)) == [0xFF, 0xD8, 0xFF])
        let decoded = try Imaging.decode(data: jpeg, limits: .default)
        #expect(decoded.width == width && decoded.height == height)
        #expect(meanAbsDifference(decoded.pixels, image.pixels) < 1.5 / 255)
        #expect(maxAbsDifference(decoded.pixels, image.pixels) < 8.0 / 255)
    }

    /// Lossy WebP at quality 95 on smooth content: mean error under 4 levels, worst under 24
    /// (lossy WebP always halves colour resolution, which costs most on small images).
    @Test(arguments: [(64, 64), (37, 23)])
    func webpRoundTripIsClose(width: Int, height: Int) throws {
        let image = TestImages.smooth(width: width, height: height, seed: 33)
        let webp = try Imaging.encode(image, format: .webp, quality: 95)
        #expect(Array(webp.prefix(4)) == Array("RIFF".utf8))
        #expect(Array(webp[8..<12]) == Array("WEBP".utf8))
        let decoded = try Imaging.decode(data: webp, limits: .default)
        #expect(decoded.width == width && decoded.height == height)
        #expect(meanAbsDifference(decoded.pixels, image.pixels) < 4.0 / 255)
        #expect(maxAbsDifference(decoded.pixels, image.pixels) < 24.0 / 255)
    }

    @Test(arguments: [(1, 1), (37, 23), (64, 48)])
    func losslessWebPRoundTripIsExact(width: Int, height: Int) throws {
        let (image, expected) = TestImages.randomQuantised(width: width, height: height, seed: 77)
        let webp = try Imaging.encode(image, format: .webp, quality: 95, lossless: true)
        #expect(
            try Imaging.readHeader(data: webp) == ImageHeader(width: width, height: height, bands: 3, format: .webp))
        #expect(levels(try Imaging.decode(data: webp, limits: .default)) == expected)
    }

    @Test func losslessFlagLeavesPNGExact() throws {
        let (image, expected) = TestImages.randomQuantised(width: 8, height: 8, seed: 78)
        let png = try Imaging.encode(image, format: .png, quality: 95, lossless: true)
        #expect(levels(try Imaging.decode(data: png, limits: .default)) == expected)
    }

    @Test func lowerJpegQualityGivesSmallerFiles() throws {
        let image = TestImages.randomQuantised(width: 64, height: 64, seed: 4).image
        let high = try Imaging.encode(image, format: .jpeg, quality: 95)
        let low = try Imaging.encode(image, format: .jpeg, quality: 30)
        #expect(low.count < high.count)
    }

    @Test func inconsistentImageIsRejected() {
        let bad = RGBImage(width: 4, height: 4, pixels: [0, 1, 2])
        #expect(imagingError { try Imaging.encode(bad, format: .png, quality: 95) }?.code == .invalidArgument)
        let empty = RGBImage(width: 0, height: 3, pixels: [])
        #expect(imagingError { try Imaging.encode(empty, format: .png, quality: 95) }?.code == .invalidArgument)
    }

    @Test func webpBeyondItsSizeLimitFailsToEncode() {
        // WebP cannot store an image wider than 16383 pixels.
        let wide = TestImages.constant(width: 20_000, height: 1, rgb: (0.1, 0.2, 0.3))
        #expect(imagingError { try Imaging.encode(wide, format: .webp, quality: 90) }?.code == .encodeFailed)
    }

    // MARK: write()

    @Test(arguments: ImageFormat.allCases)
    func writeProducesADecodableFile(format: ImageFormat) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.\(format.fileExtension)").path
        let image = TestImages.smooth(width: 20, height: 10, seed: 1)
        try Imaging.write(image, to: path, format: format, quality: 95)
        #expect(
            try Imaging.readHeader(file: path)
                == ImageHeader(width: 20, height: 10, bands: 3, format: InputFormat(format)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.\(format.fileExtension)"])
    }

    @Test func writeReplacesAnExistingFileWhole() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeFile(Array("old contents".utf8), named: "out.png", in: dir)
        let (image, expected) = TestImages.randomQuantised(width: 9, height: 9, seed: 2)
        try Imaging.write(image, to: path, format: .png, quality: 95)
        #expect(levels(try Imaging.decode(file: path, limits: .default)) == expected)
    }

    @Test func failedEncodeLeavesNoFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.webp").path
        let wide = TestImages.constant(width: 20_000, height: 1, rgb: (0.5, 0.5, 0.5))
        #expect(imagingError { try Imaging.write(wide, to: path, format: .webp, quality: 90) }?.code == .encodeFailed)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func missingDirectoryIsAnIOErrorAndLeavesNothing() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("no-such-dir/out.png").path
        let image = TestImages.constant(width: 2, height: 2, rgb: (0, 0, 0))
        #expect(imagingError { try Imaging.write(image, to: path, format: .png, quality: 95) }?.code == .ioFailed)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func failedRenameRemovesTheTemporaryFile() throws {
        // The target is a non-empty directory, so the final rename must fail after the bytes are written.
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("taken.png")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        _ = try writeFile([1], named: "keep", in: target)
        let image = TestImages.constant(width: 2, height: 2, rgb: (1, 1, 1))
        #expect(
            imagingError { try Imaging.write(image, to: target.path, format: .png, quality: 95) }?.code == .ioFailed)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["taken.png"])
    }
}
