import Foundation
import Imaging
import Inference
import TestSupport
import Testing
import UpscaleCore

/// The upscaling pipeline through the library API, on tiny images and the small `realesr-animevideov3` model.
@Suite(
    .enabled(if: PipelineFixtures.modelInstalled, "realesr-animevideov3 is not installed; run `upscaler models fetch`"))
struct PipelineTests {
    // MARK: - Output size

    /// 23x17 input (odd on both sides). Expected sizes are worked out by hand: side × scale, rounded half away from
    /// zero (34.5 → 35, 8.5 → 9, 57.5 → 58).
    static let sizes: [(scale: Double?, width: Int, height: Int)] = [
        (nil, 92, 68), (4, 92, 68), (3, 69, 51), (2.5, 58, 43), (2, 46, 34), (1.5, 35, 26), (1, 23, 17),
        (0.5, 12, 9), (5, 115, 85), (8, 184, 136), (16, 368, 272),
    ]

    @Test(arguments: sizes)
    func outputHasExactSize(scale: Double?, width: Int, height: Int) throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 23, height: 17)), to: "odd.png")
        let output = scratch.path("big.png")
        let result = try PipelineFixtures.upscaler()
            .upscale(file: input, to: output, options: PipelineFixtures.options(scale: scale))

        #expect(result.inputWidth == 23 && result.inputHeight == 17)
        #expect(result.outputWidth == width && result.outputHeight == height)
        #expect(
            try Imaging.readHeader(file: output) == ImageHeader(width: width, height: height, bands: 3, format: .png))
        #expect(result.timings.map(\.step) == ["decode", "infer", "alpha", "outscale", "encode"])
    }

    // MARK: - Output formats

    /// The format comes from the output's extension (any case), else PNG; an explicit format wins over the name.
    static let formats: [(name: String, format: ImageFormat?, expected: ImageFormat)] = [
        ("out.png", nil, .png), ("out.jpg", nil, .jpeg), ("out.jpeg", nil, .jpeg), ("out.webp", nil, .webp),
        ("OUT.WEBP", nil, .webp), ("out.bin", nil, .png), ("no-extension", nil, .png), ("named.png", .jpeg, .jpeg),
    ]

    @Test(arguments: formats)
    func outputFormat(name: String, format: ImageFormat?, expected: ImageFormat) throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 12, height: 10)), to: "in.png")
        let result = try PipelineFixtures.upscaler()
            .upscale(file: input, to: scratch.path(name), options: PipelineFixtures.options(format: format))

        #expect(result.format == expected)
        #expect(
            try Imaging.readHeader(file: scratch.path(name))
                == ImageHeader(width: 48, height: 40, bands: 3, format: InputFormat(expected)))
        // Written through a temporary file that must be gone afterwards.
        #expect(scratch.contents() == ["in.png", name].sorted())
    }

    /// An existing output is replaced whole.
    @Test func existingOutputIsReplaced() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 12, height: 10)), to: "in.png")
        let output = try scratch.write(Array("old contents".utf8), to: "out.png")
        _ = try PipelineFixtures.upscaler().upscale(file: input, to: output, options: PipelineFixtures.options())

        #expect(try Imaging.readHeader(file: output) == ImageHeader(width: 48, height: 40, bands: 3, format: .png))
        #expect(scratch.contents() == ["in.png", "out.png"])
    }

    /// The in-memory API: bytes in, encoded bytes out, PNG unless a format is given.
    @Test(arguments: [(nil, ImageFormat.png), (.jpeg, .jpeg), (.webp, .webp)] as [(ImageFormat?, ImageFormat)])
    func inMemoryUpscale(format: ImageFormat?, expected: ImageFormat) throws {
        let input = try Imaging.encode(syntheticImage(width: 9, height: 14), format: .webp, quality: 90)
        let (bytes, result) = try PipelineFixtures.upscaler()
            .upscale(data: input, options: PipelineFixtures.options(format: format))

        #expect(result.format == expected)
        #expect(
            try Imaging.readHeader(data: bytes)
                == ImageHeader(width: 36, height: 56, bands: 3, format: InputFormat(expected)))
    }

    // MARK: - Progress and cancellation

    /// 24x20 with 16-pixel tiles: reflection padding of 10 makes the tiled area 44x40, so several tiles.
    static let smallTiles = TilingOptions(tile: 16, overlap: 4, pad: 10)

    @Test func progressCountsEveryTileAndNeverGoesBack() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 24, height: 20)), to: "in.png")
        var reports: [PipelineProgress] = []
        _ = try PipelineFixtures.upscaler().upscale(
            file: input, to: scratch.path("out.png"), options: PipelineFixtures.options(tiling: Self.smallTiles),
            progress: { reports.append($0) })

        let total = Tiler.tileCount(height: 20, width: 24, options: Self.smallTiles)
        // Tiles of 16 must at least cover the 44x40 padded image: 3 x 3.
        #expect(total >= 9)
        let tiles = reports.compactMap(\.tile)
        #expect(tiles.map(\.completed) == Array(1...total))
        #expect(tiles.allSatisfy { $0.total == total })

        let fractions = reports.map(\.fraction)
        #expect(fractions.first == 0)
        #expect(fractions.last == 1)
        #expect(zip(fractions, fractions.dropFirst()).allSatisfy { $0 <= $1 }, "\(fractions)")
        #expect(fractions.allSatisfy { (0...1).contains($0) })

        // Steps in order, each announced once outside the tile reports.
        let steps = reports.filter { $0.tile == nil }.map(\.step)
        #expect(steps == ["decode", "infer", "alpha", "outscale", "encode", "done"])
    }

    @Test func cancellingAfterTheFirstTileStopsTheRun() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 24, height: 20)), to: "in.png")
        var tilesSeen = 0
        var lastTotal = 0
        let error = upscaleError {
            try PipelineFixtures.upscaler().upscale(
                file: input, to: scratch.path("out.png"), options: PipelineFixtures.options(tiling: Self.smallTiles),
                isCancelled: { tilesSeen >= 1 },
                progress: { progress in
                    if let tile = progress.tile {
                        tilesSeen = tile.completed
                        lastTotal = tile.total
                    }
                })
        }
        #expect(error?.kind == .cancelled)
        #expect(tilesSeen >= 1 && tilesSeen < lastTotal, "stopped after \(tilesSeen) of \(lastTotal) tiles")
        #expect(scratch.contents() == ["in.png"], "no output and no temporary file")
    }

    @Test func cancelledBeforeStartingDoesNothing() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 24, height: 20)), to: "in.png")
        var reports = 0
        let error = upscaleError {
            try PipelineFixtures.upscaler().upscale(
                file: input, to: scratch.path("out.png"), options: PipelineFixtures.options(),
                isCancelled: { true }, progress: { _ in reports += 1 })
        }
        #expect(error?.kind == .cancelled)
        #expect(reports == 0)
        #expect(scratch.contents() == ["in.png"])
    }

    // MARK: - Limits, checked before expensive work

    /// The pixel limit is checked on the header: a truncated file over the limit is "too large", not "corrupt", and
    /// the store is empty, so reaching the model would fail differently.
    @Test func pixelLimitIsCheckedBeforeDecoding() throws {
        let scratch = try ScratchFolder()
        let png = try pngBytes(syntheticImage(width: 24, height: 20, seed: 9))
        let whole = try scratch.write(png, to: "whole.png")
        let truncated = try scratch.write(Array(png.prefix(png.count / 2)), to: "truncated.png")
        let upscaler = try Upscaler(store: ModelStore(directory: URL(fileURLWithPath: try scratch.folder("no-models"))))
        let limits = ImageLimits(maxPixels: 100, maxFileBytes: ImageLimits.default.maxFileBytes)

        for input in [whole, truncated] {
            let error = upscaleError {
                try upscaler.upscale(
                    file: input, to: scratch.path("out.png"),
                    options: PipelineFixtures.options(limits: limits))
            }
            #expect(error?.kind == .tooLarge, "\(input): \(String(describing: error))")
            #expect(error?.message.contains("100") == true, "\(String(describing: error))")
        }
        // Control: within the limits the truncated file is found corrupt.
        let corrupt = upscaleError {
            try upscaler.upscale(file: truncated, to: scratch.path("out.png"), options: PipelineFixtures.options())
        }
        #expect(corrupt?.kind == .invalidInput)
        #expect(!scratch.contents().contains("out.png"))
    }

    @Test func byteLimitIsCheckedFirst() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 24, height: 20)), to: "in.png")
        let limits = ImageLimits(maxPixels: ImageLimits.default.maxPixels, maxFileBytes: 64)
        let error = upscaleError {
            try PipelineFixtures.upscaler().upscale(
                file: input, to: scratch.path("out.png"),
                options: PipelineFixtures.options(limits: limits))
        }
        #expect(error?.kind == .tooLarge)
        #expect(scratch.contents() == ["in.png"])
    }

    /// 4097 pixels wide times 4 is over the 16384-pixel output side; refused before the (absent) model is needed.
    @Test func outputSideLimit() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 4097, height: 1)), to: "wide.png")
        let upscaler = try Upscaler(store: ModelStore(directory: URL(fileURLWithPath: try scratch.folder("no-models"))))
        var options = PipelineFixtures.options()
        options.maxInputSide = nil  // otherwise the input is first shrunk to 2048 px
        let error = upscaleError {
            try upscaler.upscale(file: input, to: scratch.path("out.png"), options: options)
        }
        #expect(error?.kind == .tooLarge)
        #expect(error?.message.contains("16388") == true, "\(String(describing: error))")
    }

    /// 23x17 fitted into a box, by hand: width 100 -> scale 100/23, height round(17 * 4.348) = 74; height 40 ->
    /// scale 40/17, width round(23 * 2.353) = 54; both -> the tighter (height) wins.
    @Test(arguments: [(Int?.some(100), Int?.none, 100, 74), (nil, 40, 54, 40), (100, 40, 54, 40), (23, 17, 23, 17)])
    func fitsIntoABox(_ fitWidth: Int?, _ fitHeight: Int?, _ width: Int, _ height: Int) throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 23, height: 17)), to: "in.png")
        var options = PipelineFixtures.options()
        options.fitWidth = fitWidth
        options.fitHeight = fitHeight
        let result = try PipelineFixtures.upscaler().upscale(file: input, to: scratch.path("out.png"), options: options)
        #expect(result.outputWidth == width && result.outputHeight == height)
        let header = try Imaging.readHeader(file: scratch.path("out.png"))
        #expect(header.width == width && header.height == height)
    }

    /// A 40x20 JPEG, left half red and right half blue, with a hand-written EXIF block saying orientation 6 ("the
    /// stored left edge is the top"). Shown upright it is 20x40, red on top; upscaled 4x it must be 80x160, red on top
    /// and blue below, and the EXIF block it keeps must say orientation 1 (read back by Pillow).
    @Test func exifOrientationIsApplied() throws {
        let scratch = try ScratchFolder()
        var pixels = [Float](repeating: 0, count: 40 * 20 * 3)
        for y in 0..<20 {
            for x in 0..<40 { pixels[(x < 20 ? 0 : 2) * 800 + y * 40 + x] = 1 }
        }
        let jpeg = try Imaging.encode(RGBImage(width: 40, height: 20, pixels: pixels), format: .jpeg, quality: 95)
        // APP1 "Exif": big-endian TIFF header, one IFD entry: tag 0x0112 (Orientation), SHORT, count 1, value 6.
        let tiff: [UInt8] = [
            0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0,
        ]
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let app1: [UInt8] = [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        let input = try scratch.write(Array(jpeg[0..<2]) + app1 + Array(jpeg[2...]), to: "sideways.jpg")

        let result = try PipelineFixtures.upscaler().upscale(
            file: input, to: scratch.path("upright.jpg"),
            options: PipelineFixtures.options())
        #expect(result.inputWidth == 20 && result.inputHeight == 40)
        #expect(result.outputWidth == 80 && result.outputHeight == 160)
        let output = try Imaging.decode(file: scratch.path("upright.jpg"), limits: .default)
        #expect(output.width == 80 && output.height == 160)
        let plane = output.width * output.height
        func rgb(_ x: Int, _ y: Int) -> (Float, Float, Float) {
            (output.pixels[y * 80 + x], output.pixels[plane + y * 80 + x], output.pixels[2 * plane + y * 80 + x])
        }
        let top = rgb(40, 30), bottom = rgb(40, 130)
        #expect(top.0 > 0.8 && top.2 < 0.2, "top is \(top)")
        #expect(bottom.2 > 0.8 && bottom.0 < 0.2, "bottom is \(bottom)")
        let probe = try Subprocess.run(
            "/usr/bin/env", ["python3", ImageKindsTests.script, "probe", scratch.path("upright.jpg")])
        let report = try JSONSerialization.jsonObject(with: Data(probe.stdout.utf8)) as? [String: Any]
        let exif = try #require(report?["exif"] as? [String: String], "\(probe.stderr)")
        #expect(exif["274"] ?? "1" == "1", "orientation \(exif)")
    }

    /// A gray PNG (one band, a horizontal ramp) comes out gray in PNG and JPEG, four times larger, and the ramp
    /// survives: the output's left and right quarters keep the input's order and roughly its levels.
    @Test(arguments: [ImageFormat.png, .jpeg])
    func grayStaysGray(_ format: ImageFormat) throws {
        let scratch = try ScratchFolder()
        let (w, h) = (24, 20)
        let samples = (0..<(w * h)).map { UInt16(30 + 8 * ($0 % w)) }  // 30 ... 214, left to right
        let input = try scratch.write(
            TestPNG.encode(width: w, height: h, colorType: .gray, samples: samples), to: "gray.png")
        let output = scratch.path("out.\(format.fileExtension)")
        _ = try PipelineFixtures.upscaler().upscale(file: input, to: output, options: PipelineFixtures.options())
        let header = try Imaging.readHeader(file: output)
        #expect(header.bands == 1 && header.width == 96 && header.height == 80)
        let decoded = try Imaging.decode(file: output, limits: .default)
        func mean(_ xs: Range<Int>) -> Float {
            var sum: Float = 0
            for y in 0..<80 { for x in xs { sum += decoded.pixels[y * 96 + x] } }
            return sum / Float(80 * xs.count) * 255
        }
        let left = mean(0..<24), right = mean(72..<96)
        #expect(abs(left - 30 - 8 * 2.5) < 20 && abs(right - 30 - 8 * 20.5) < 20, "left \(left), right \(right)")
    }

    @Test func colourStaysColour() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 16, height: 12)), to: "colour.png")
        _ = try PipelineFixtures.upscaler().upscale(
            file: input, to: scratch.path("out.png"), options: PipelineFixtures.options())
        #expect(try Imaging.readHeader(file: scratch.path("out.png")).bands == 3)
    }

    /// A 48x40 RGBA PNG: on the left a hard-edged opaque disc (orange) whose surroundings are transparent black, the
    /// worst case for fringes; on the right a blue band whose alpha ramps from 0 to 255.
    static func transparentTestImage() -> [UInt8] {
        var samples: [UInt16] = []
        for y in 0..<40 {
            for x in 0..<48 {
                if x < 28 {
                    let inside = (x - 14) * (x - 14) + (y - 20) * (y - 20) <= 100
                    samples += inside ? [230, 160, 80, 255] : [0, 0, 0, 0]
                } else {
                    samples += [60, 140, 220, UInt16((x - 28) * 255 / 19)]
                }
            }
        }
        return TestPNG.encode(width: 48, height: 40, colorType: .rgba, samples: samples)
    }

    @Test func alphaIsKeptResizedAndFringeFree() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(Self.transparentTestImage(), to: "logo.png")
        _ = try PipelineFixtures.upscaler().upscale(
            file: input, to: scratch.path("out.png"), options: PipelineFixtures.options())
        #expect(try Imaging.readHeader(file: scratch.path("out.png")).bands == 4)
        let source = try Imaging.decode(file: input, limits: .default)
        let output = try Imaging.decode(file: scratch.path("out.png"), limits: .default)
        let (w, h) = (output.width, output.height)
        #expect(w == 192 && h == 160)
        let alpha = try #require(output.alpha)

        // 1. Alpha matches a Lanczos resize of the input alpha within 2 levels.
        let expected = try #require(try Imaging.resize(source, width: w, height: h).alpha)
        let worst = zip(alpha, expected).map { abs($0 - $1) * 255 }.max() ?? 0
        #expect(worst <= 2.01, "alpha differs by \(worst) levels")

        // 2. No dark fringe: visible pixels next to the edge are not darker than their visible neighbours' mean by
        //    more than 8 levels (brightness = mean of R, G, B in levels).
        func brightness(_ i: Int) -> Float {
            (output.pixels[i] + output.pixels[w * h + i] + output.pixels[2 * w * h + i]) / 3 * 255
        }
        var worstDarkening: Float = 0
        for y in 3..<(h - 3) {
            for x in 3..<(w - 3) where alpha[y * w + x] >= 0.5 {
                let window = (-3...3).flatMap { dy in (-3...3).map { dx in (y + dy) * w + x + dx } }
                guard window.contains(where: { alpha[$0] < 0.5 }) else { continue }  // edge pixels only
                let visible = window.filter { alpha[$0] >= 0.5 }
                let mean = visible.map(brightness).reduce(0, +) / Float(visible.count)
                worstDarkening = max(worstDarkening, mean - brightness(y * w + x))
            }
        }
        #expect(worstDarkening <= 8, "an edge pixel is \(worstDarkening) levels darker than its neighbours")
    }

    /// JPEG has no alpha: transparent areas are flattened onto white by default, or the chosen background.
    @Test(arguments: [(SIMD3<Float>(1, 1, 1), Float(250)), (SIMD3<Float>(0, 0, 0), Float(5))])
    func jpegIsFlattenedOntoTheBackground(_ background: SIMD3<Float>, _ bound: Float) throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(Self.transparentTestImage(), to: "logo.png")
        var options = PipelineFixtures.options()
        options.background = background
        _ = try PipelineFixtures.upscaler().upscale(file: input, to: scratch.path("out.jpg"), options: options)
        let output = try Imaging.decode(file: scratch.path("out.jpg"), limits: .default)
        #expect(output.alpha == nil)
        let corner = 8 * output.width + 8  // input (2, 2): fully transparent
        let plane = output.width * output.height
        for c in 0..<3 {
            let level = output.pixels[c * plane + corner] * 255
            #expect(background[c] == 1 ? level >= bound : level <= bound, "channel \(c) is \(level)")
        }
    }

    @Test func scaleAboveSixteenIsAnOptionError() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 8, height: 8)), to: "in.png")
        let error = upscaleError {
            try PipelineFixtures.upscaler().upscale(
                file: input, to: scratch.path("out.png"),
                options: PipelineFixtures.options(scale: 17))
        }
        #expect(error?.kind == .invalidOption)
        #expect(scratch.contents() == ["in.png"])
    }
}
