import Foundation
import Imaging
import TestSupport
import Testing

/// Decoding and header reading, checked against PNG bytes written by `TestPNG` (not libvips).
@Suite struct ImagingDecodeTests {
    init() throws { try Imaging.initialize() }

    // MARK: Independent PNGs decode to exactly the samples written

    @Test func decodesRGBPNGExactly() throws {
        var rng = SeededRandom(seed: 11)
        let (w, h) = (13, 7)
        let samples = (0..<(w * h * 3)).map { _ in UInt16.random(in: 0...255, using: &rng) }
        let png = TestPNG.encode(width: w, height: h, colorType: .rgb, samples: samples)
        let image = try Imaging.decode(data: png, limits: .default)
        #expect(image.width == w && image.height == h)
        #expect(image.pixels.count == 3 * w * h)
        // Planar: value (c, y, x) sits at c*w*h + y*w + x; the PNG sample is at (y*w + x)*3 + c.
        var mismatches = 0
        for c in 0..<3 {
            for i in 0..<(w * h) where image.pixels[c * w * h + i] != Float(samples[i * 3 + c]) / 255 {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
    }

    @Test func grayBecomesEqualRGB() throws {
        let samples: [UInt16] = [0, 64, 128, 255, 17, 200]
        let png = TestPNG.encode(width: 3, height: 2, colorType: .gray, samples: samples)
        let image = try Imaging.decode(data: png, limits: .default)
        let expected = samples.map { Float($0) / 255 }
        #expect(Array(image.pixels[0..<6]) == expected)
        #expect(Array(image.pixels[6..<12]) == expected)
        #expect(Array(image.pixels[12..<18]) == expected)
    }

    @Test func alphaIsReturnedBesideTheColour() throws {
        // Opaque red, transparent black, half-transparent blue.
        let samples: [UInt16] = [255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255, 128]
        let png = TestPNG.encode(width: 3, height: 1, colorType: .rgba, samples: samples)
        let header = try Imaging.readHeader(data: png)
        #expect(header.bands == 4)
        let image = try Imaging.decode(data: png, limits: .default)
        let px = levels(image)  // planar: R0 R1 R2 G0 G1 G2 B0 B1 B2
        #expect([px[0], px[3], px[6]] == [255, 0, 0])  // colour as stored, not flattened
        #expect([px[1], px[4], px[7]] == [0, 0, 0])
        #expect([px[2], px[5], px[8]] == [0, 0, 255])
        #expect(image.alpha.map { $0.map { Int(($0 * 255).rounded()) } } == [255, 0, 128])
    }

    @Test func grayAlphaKeepsItsAlpha() throws {
        let samples: [UInt16] = [100, 255, 100, 0]
        let png = TestPNG.encode(width: 2, height: 1, colorType: .grayAlpha, samples: samples)
        let image = try Imaging.decode(data: png, limits: .default)
        #expect(levels(image) == [100, 100, 100, 100, 100, 100])
        #expect(image.alpha == [1, 0])
    }

    /// JPEG has no alpha: encoding flattens onto white (the default) or the given background.
    @Test func jpegFlattensAlphaOntoTheBackground() throws {
        let image = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 0, 0, 0], alpha: [1, 0])
        for (background, expected) in [(SIMD3<Float>(1, 1, 1), 255), (SIMD3<Float>(0, 0, 1), 0)] {
            let jpeg = try Imaging.encode(image, format: .jpeg, quality: 100, lossless: false, background: background)
            let decoded = try Imaging.decode(data: jpeg, limits: .default)
            #expect(decoded.alpha == nil)
            #expect(abs(Int(levels(decoded)[1]) - expected) <= 3)  // red of the transparent pixel
        }
    }

    /// 16-bit samples keep their precision: each decodes to v / 65535, including values no 8-bit level can hold.
    @Test func sixteenBitKeepsItsPrecision() throws {
        let samples: [UInt16] = [0, 65535, 32896, 257 * 200, 1000, 65001]
        let png = TestPNG.encode(width: 2, height: 1, colorType: .rgb, bitDepth: 16, samples: samples)
        let header = try Imaging.readHeader(data: png)
        #expect(header == ImageHeader(width: 2, height: 1, bands: 3, format: .png, bitDepth: 16))
        let image = try Imaging.decode(data: png, limits: .default)
        for pixel in 0..<2 {
            for c in 0..<3 {
                let expected = Float(samples[pixel * 3 + c]) / 65535
                #expect(abs(image.pixels[c * 2 + pixel] - expected) < 1e-6, "pixel \(pixel) channel \(c)")
            }
        }
    }

    /// A GIF is read (first frame); its header says GIF and 8 bits.
    @Test func gifIsRead() throws {
        let header = try Imaging.readHeader(data: TestImages.gif1x1)
        #expect(header.format == .gif && header.width == 1 && header.height == 1 && header.bitDepth == 8)
        let image = try Imaging.decode(data: TestImages.gif1x1, limits: .default)
        #expect(image.width == 1 && image.height == 1)
    }

    @Test func sixteenBitWithAlpha() throws {
        // Opaque 16-bit grey 0x8080 (= 8-bit 128) and a fully transparent pixel.
        let grayAlpha = TestPNG.encode(
            width: 2, height: 1, colorType: .grayAlpha, bitDepth: 16,
            samples: [0x8080, 65535, 0, 0])
        let decoded = try Imaging.decode(data: grayAlpha, limits: .default)
        let px = levels(decoded)
        #expect(abs(Int(px[0]) - 128) <= 1 && abs(Int(px[2]) - 128) <= 1 && abs(Int(px[4]) - 128) <= 1)
        #expect(decoded.alpha == [1, 0])

        let rgba = TestPNG.encode(
            width: 1, height: 1, colorType: .rgba, bitDepth: 16,
            samples: [65535, 0, 257 * 100, 65535])
        #expect(try Imaging.readHeader(data: rgba).bands == 4)
        let colour = try Imaging.decode(data: rgba, limits: .default)
        #expect(levels(colour) == [255, 0, 100])
        #expect(colour.alpha == [1])
    }

    // MARK: Headers

    @Test func readHeaderFromDataAndFile() throws {
        let png = TestPNG.encode(
            width: 5, height: 9, colorType: .grayAlpha,
            samples: [UInt16](repeating: 9, count: 5 * 9 * 2))
        #expect(try Imaging.readHeader(data: png) == ImageHeader(width: 5, height: 9, bands: 2, format: .png))
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeFile(png, named: "a.png", in: dir)
        #expect(try Imaging.readHeader(file: path) == ImageHeader(width: 5, height: 9, bands: 2, format: .png))
    }

    @Test(arguments: [ImageFormat.jpeg, .webp])
    func readHeaderReportsFormat(format: ImageFormat) throws {
        let bytes = try Imaging.encode(TestImages.smooth(width: 31, height: 17, seed: 3), format: format, quality: 90)
        #expect(
            try Imaging.readHeader(data: bytes)
                == ImageHeader(width: 31, height: 17, bands: 3, format: InputFormat(format)))
    }

    @Test func readHeaderNeverDecodes() throws {
        // 10^10 pixels of garbage: only a header-only read can answer, and answer at once.
        let start = ContinuousClock.now
        let header = try Imaging.readHeader(data: TestPNG.hugeHeader())
        #expect(header == ImageHeader(width: 100_000, height: 100_000, bands: 3, format: .png))
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    // MARK: Limits

    @Test func pixelLimitIsChecked() throws {
        let png = TestPNG.encode(
            width: 100, height: 100, colorType: .gray,
            samples: [UInt16](repeating: 1, count: 100 * 100))
        let limits = ImageLimits(maxPixels: 5000, maxFileBytes: 1 << 20)
        #expect(imagingError { try Imaging.decode(data: png, limits: limits) }?.code == .tooLarge)
        // Exactly at the limit is allowed.
        let atLimit = TestPNG.encode(
            width: 100, height: 50, colorType: .gray,
            samples: [UInt16](repeating: 1, count: 100 * 50))
        #expect(try Imaging.decode(data: atLimit, limits: limits).width == 100)
    }

    @Test func hugeHeaderIsRejectedBeforeDecoding() throws {
        let start = ContinuousClock.now
        let error = imagingError { try Imaging.decode(data: TestPNG.hugeHeader(), limits: .default) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("100000x100000") == true)

        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeFile(TestPNG.hugeHeader(), named: "bomb.png", in: dir)
        #expect(imagingError { try Imaging.decode(file: path, limits: .default) }?.code == .tooLarge)
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func fileSizeLimitIsChecked() throws {
        let png = TestPNG.encode(width: 8, height: 8, colorType: .rgb, samples: [UInt16](repeating: 3, count: 192))
        let limits = ImageLimits(maxPixels: 1000, maxFileBytes: png.count - 1)
        #expect(imagingError { try Imaging.decode(data: png, limits: limits) }?.code == .fileTooLarge)
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeFile(png, named: "x.png", in: dir)
        #expect(imagingError { try Imaging.decode(file: path, limits: limits) }?.code == .fileTooLarge)
        // The file-size check comes first: a huge header in a too-big file is fileTooLarge.
        let bombLimits = ImageLimits(maxPixels: 10, maxFileBytes: 10)
        #expect(
            imagingError { try Imaging.decode(data: TestPNG.hugeHeader(), limits: bombLimits) }?.code == .fileTooLarge)
    }

    // MARK: Broken and foreign inputs

    @Test func zeroBytesAreUnreadable() throws {
        #expect(imagingError { try Imaging.decode(data: [], limits: .default) }?.code == .unreadable)
        #expect(imagingError { try Imaging.readHeader(data: []) }?.code == .unreadable)
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeFile([], named: "empty.png", in: dir)
        #expect(imagingError { try Imaging.decode(file: path, limits: .default) }?.code == .unreadable)
        #expect(imagingError { try Imaging.readHeader(file: path) }?.code == .unreadable)
    }

    @Test func truncatedStoredPNGIsUnreadable() throws {
        let (w, h) = (64, 64)
        var rng = SeededRandom(seed: 5)
        let samples = (0..<(w * h * 3)).map { _ in UInt16.random(in: 0...255, using: &rng) }
        let png = TestPNG.encode(width: w, height: h, colorType: .rgb, samples: samples)
        let half = Array(png[..<(png.count / 2)])
        #expect(imagingError { try Imaging.decode(data: half, limits: .default) }?.code == .unreadable)
    }

    @Test(arguments: [ImageFormat.png, .jpeg, .webp])
    func truncatedEncodedImageIsUnreadable(format: ImageFormat) throws {
        let bytes = try Imaging.encode(
            TestImages.randomQuantised(width: 96, height: 80, seed: 9).image,
            format: format, quality: 90)
        let half = Array(bytes[..<(bytes.count / 2)])
        #expect(imagingError { try Imaging.decode(data: half, limits: .default) }?.code == .unreadable)
    }

    @Test func corruptPixelDataIsUnreadable() throws {
        // A valid header followed by garbage in place of the compressed pixels.
        let bytes = TestPNG.hugeHeader(width: 16, height: 16) + TestPNG.chunk("IEND", [])
        #expect(imagingError { try Imaging.decode(data: bytes, limits: .default) }?.code == .unreadable)
    }

    /// The same file decoded from many threads at once: with several libvips worker threads, libvips 8.14 lost the
    /// pixel-data error in 80 to 148 of these 400 decodes and returned an image. Every one must fail.
    @Test func corruptPixelDataIsUnreadableUnderConcurrency() throws {
        try Imaging.initialize()
        let bytes = TestPNG.hugeHeader(width: 16, height: 16) + TestPNG.chunk("IEND", [])
        final class Tally: @unchecked Sendable {
            private let lock = NSLock()
            private(set) var accepted = 0
            func accept() { lock.lock(); accepted += 1; lock.unlock() }
        }
        let tally = Tally()
        DispatchQueue.concurrentPerform(iterations: 400) { _ in
            if (try? Imaging.decode(data: bytes, limits: .default)) != nil { tally.accept() }
        }
        #expect(tally.accepted == 0)
    }

    @Test(arguments: [
        ("bmp", TestImages.bmp1x1),
        ("text", TestImages.text), ("noise", (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }),
    ])
    func otherFormatsAreUnsupported(kind: String, bytes: [UInt8]) throws {
        let error = imagingError { try Imaging.decode(data: bytes, limits: .default) }
        #expect(error?.code == .unsupportedFormat, "\(kind)")
        #expect(imagingError { try Imaging.readHeader(data: bytes) }?.code == .unsupportedFormat, "\(kind)")
    }

    @Test func messagesNameTheFileOnlyAndStayOnOneLine() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeFile(TestImages.text, named: "photo.jpg", in: dir)
        let error = try #require(imagingError { try Imaging.decode(file: path, limits: .default) })
        #expect(error.code == .unsupportedFormat)
        #expect(
            error.message.hasPrefix("photo.jpg: not an image format Upscaler reads (PNG, JPEG, WebP"),
            "\(error.message)")
        #expect(!error.message.contains(dir.path))
        #expect(error.description == error.message)

        let tricky = try writeFile(TestImages.text, named: "a\nb.png", in: dir)
        let second = try #require(imagingError { try Imaging.decode(file: tricky, limits: .default) })
        #expect(!second.message.contains("\n"))
    }

    @Test func missingFileIsAnIOError() {
        let path = "/nonexistent-\(UUID().uuidString)/x.png"
        #expect(imagingError { try Imaging.decode(file: path, limits: .default) }?.code == .ioFailed)
        #expect(imagingError { try Imaging.readHeader(file: path) }?.code == .ioFailed)
    }

    @Test func fileNameWithBracketsIsJustAName() throws {
        // vips_image_new_from_file would parse "[...]" as load options; we must not.
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = TestPNG.encode(width: 2, height: 2, colorType: .gray, samples: [1, 2, 3, 4])
        let path = try writeFile(png, named: "x.png[fail=false]", in: dir)
        #expect(try Imaging.decode(file: path, limits: .default).width == 2)
    }
}
