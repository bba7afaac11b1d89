import Foundation
import Imaging
import TestSupport
import Testing
import UpscaleCore

/// 16-bit, wide-gamut, metadata-carrying and other-format inputs, made by `tools/image_probe.py` (Pillow and hand-written
/// PNG, not libvips), run through the `upscaler` executable, and read back by the same script: its own PNG parser for
/// bit depth and sample values, Pillow's lcms for colour, Pillow for EXIF and XMP.
@Suite(
    .enabled(if: PipelineFixtures.modelInstalled, "realesr-animevideov3 is not installed; run `upscaler models fetch`"))
struct ImageKindsTests {
    static let script = PipelineFixtures.repositoryRoot.appendingPathComponent("tools/image_probe.py").path

    /// A scratch folder holding the script's fixtures.
    final class Fixtures {
        let scratch: ScratchFolder
        init() throws {
            scratch = try ScratchFolder()
            let made = try Subprocess.run(
                "/usr/bin/env", ["python3", ImageKindsTests.script, "make", scratch.url.path])
            guard made.status == 0 else { throw CommandLineTestError("image_probe.py make failed: \(made.stderr)") }
        }
        func path(_ name: String) -> String { scratch.path(name) }

        /// `upscaler upscale NAME -o OUTPUT` with the small model at 2x unless `extra` says otherwise.
        @discardableResult
        func upscale(
            _ name: String, to output: String, _ extra: [String] = [],
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws -> CommandResult {
            let scale = extra.contains("--scale") || extra.contains("--width") ? [] : ["--scale", "2"]
            let result = try runUpscaler(
                [
                    "upscale", path(name), "-o", path(output), "--model", PipelineFixtures.model,
                    "--threads", "1", "--models-dir", PipelineFixtures.modelsDirectory.path,
                ]
                    + scale + extra)
            #expect(result.status == 0, "upscale \(name) failed: \(result.stderr)", sourceLocation: sourceLocation)
            return result
        }

        /// What the script reads from a file: `probe` or `patches` output as a dictionary.
        func probe(_ arguments: String...) throws -> [String: Any] {
            let files = arguments.dropFirst().map { $0.hasPrefix("/") ? $0 : path($0) }
            let outcome = try Subprocess.run("/usr/bin/env", ["python3", ImageKindsTests.script, arguments[0]] + files)
            guard outcome.status == 0,
                let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
            else { throw CommandLineTestError("image_probe.py \(arguments) failed: \(outcome.stderr)") }
            return object
        }
    }

    // MARK: - 16-bit

    /// The fixture has a different 16-bit level in every pixel of its red channel, so an 8-bit path shows at once as
    /// at most 256 distinct values.
    @Test func sixteenBitPNGComesOutSixteenBit() throws {
        let fixtures = try Fixtures()
        let input = try fixtures.probe("probe", "gradient16.png")
        #expect(input["bitDepth"] as? Int == 16)
        try fixtures.upscale("gradient16.png", to: "out.png")
        let output = try fixtures.probe("probe", "out.png")
        #expect(output["bitDepth"] as? Int == 16)
        #expect(output["channels"] as? Int == 3)
        #expect(output["width"] as? Int == 96 && output["height"] as? Int == 80)
        let distinct = try #require(output["distinct"] as? [Int])
        #expect(distinct.allSatisfy { $0 > 256 }, "distinct values per channel: \(distinct)")
    }

    @Test(arguments: ["gray16.png", "gray16.tif"])
    func sixteenBitGrayStaysSixteenBitGray(_ name: String) throws {
        let fixtures = try Fixtures()
        try fixtures.upscale(name, to: "out.png")
        let output = try fixtures.probe("probe", "out.png")
        #expect(output["bitDepth"] as? Int == 16)
        #expect(output["channels"] as? Int == 1)
        #expect((output["distinct"] as? [Int])?.first ?? 0 > 256)
    }

    /// JPEG cannot hold 16 bits: the same input is written as ordinary 8-bit JPEG rather than refused.
    @Test func sixteenBitToJPEGIsEightBit() throws {
        let fixtures = try Fixtures()
        try fixtures.upscale("gradient16.png", to: "out.jpg")
        let output = try fixtures.probe("probe", "out.jpg")
        #expect(output["pilFormat"] as? String == "JPEG" && output["mode"] as? String == "RGB")
    }

    // MARK: - Colour profiles

    /// Flat patches stored in an Adobe RGB compatible profile. The reference is the same pixels taken to sRGB by
    /// Pillow's lcms and upscaled the same way; the patch centres must agree within ΔE 2. The fixture is checked to be
    /// far from sRGB when its profile is ignored, so a pipeline that dropped the profile would fail.
    @Test(arguments: ["adobergb.png", "adobergb.jpg"])
    func embeddedProfileIsConvertedToSRGB(_ name: String) throws {
        let fixtures = try Fixtures()
        let fixture = try fixtures.probe("patches", name, "adobergb-as-srgb.png")
        #expect((fixture["maxDeltaEIgnoringProfile"] as? Double ?? 0) > 5)
        try fixtures.upscale("adobergb-as-srgb.png", to: "reference.png")
        try fixtures.upscale(name, to: "out.png")
        let patches = try fixtures.probe("patches", "out.png", "reference.png")
        let worst = try #require(patches["maxDeltaE"] as? Double)
        #expect(worst <= 2, "worst patch ΔE \(worst)")
        #expect(try fixtures.probe("probe", "out.png")["icc"] as? String == "sRGB")
    }

    /// `--keep-profile`: the output is in the source's profile and says so; managed, it still matches the reference.
    @Test func keepProfileConvertsBack() throws {
        let fixtures = try Fixtures()
        try fixtures.upscale("adobergb-as-srgb.png", to: "reference.png")
        try fixtures.upscale("adobergb.png", to: "out.png", ["--keep-profile"])
        let probe = try fixtures.probe("probe", "out.png")
        #expect((probe["icc"] as? String)?.contains("Adobe RGB") == true, "icc: \(probe["icc"] ?? "none")")
        let patches = try fixtures.probe("patches", "out.png", "reference.png")
        #expect((patches["maxDeltaE"] as? Double ?? 99) <= 2, "\(patches)")
        #expect((patches["maxDeltaEIgnoringProfile"] as? Double ?? 0) > 5, "\(patches)")
    }

    // MARK: - Metadata

    /// EXIF (orientation 6 and a camera make) and XMP survive into every output format; orientation becomes 1 and
    /// the pixels are turned instead (the 40x20 input is 20x40 upright, so 40x80 at 2x).
    @Test(arguments: ["jpg", "png", "webp"])
    func metadataIsKeptWithOrientationReset(_ ext: String) throws {
        let fixtures = try Fixtures()
        try fixtures.upscale("exif6.jpg", to: "out.\(ext)")
        let output = try fixtures.probe("probe", "out.\(ext)")
        #expect(output["width"] as? Int == 40 && output["height"] as? Int == 80)
        let exif = try #require(output["exif"] as? [String: String])
        #expect(exif["271"] == "UpscalerTestCamera", "EXIF: \(exif)")
        #expect(exif["274"] ?? "1" == "1", "orientation \(exif["274"] ?? "")")
        #expect((output["xmp"] as? String)?.contains("upscaler-test-xmp") == true)
    }

    @Test(arguments: ["jpg", "png", "webp"])
    func stripMetadataRemovesIt(_ ext: String) throws {
        let fixtures = try Fixtures()
        try fixtures.upscale("exif6.jpg", to: "out.\(ext)", ["--strip-metadata"])
        let output = try fixtures.probe("probe", "out.\(ext)")
        #expect(output["width"] as? Int == 40 && output["height"] as? Int == 80, "still upright")
        #expect((output["exif"] as? [String: String])?.isEmpty == true, "EXIF: \(output["exif"] ?? "")")
        #expect((output["xmp"] as? String)?.isEmpty == true)
    }

    /// An EXIF block with a thumbnail (IFD1 plus JPEG bytes) loses the thumbnail and keeps the rest.
    @Test func exifThumbnailIsDropped() throws {
        let thumbnail: [UInt8] = [0xFF, 0xD8] + [UInt8](repeating: 0x42, count: 300) + [0xFF, 0xD9]
        let block = Self.exifBlock(make: "ThumbCam", orientation: 6, thumbnail: thumbnail)
        let cleaned = try #require(Imaging.uprightExif(block))
        #expect(cleaned.count < block.count - 200, "\(cleaned.count) bytes from \(block.count)")
        #expect(cleaned.starts(with: Array("Exif".utf8) + [0, 0]))
        // The make survives and the orientation reads 1 (big- or little-endian SHORT).
        #expect(Data(cleaned).range(of: Data("ThumbCam".utf8)) != nil)
        #expect(Data(cleaned).range(of: Data(thumbnail[0..<40])) == nil)
    }

    /// "Exif\0\0", a big-endian TIFF header, IFD0 with Make and Orientation, and IFD1 pointing at `thumbnail`.
    static func exifBlock(make: String, orientation: UInt16, thumbnail: [UInt8]) -> [UInt8] {
        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func be32(_ v: Int) -> [UInt8] { TestPNG.be32(UInt32(v)) }
        let makeBytes = Array(make.utf8) + [0]
        // Offsets are from the TIFF header. IFD0 at 8: 2 entries (2 + 24 + 4 = 30 bytes), make text at 38.
        let makeOffset = 8 + 30
        let ifd1Offset = makeOffset + makeBytes.count
        let thumbOffset = ifd1Offset + 2 + 2 * 12 + 4
        var tiff: [UInt8] = [0x4D, 0x4D, 0, 42] + be32(8)
        tiff += be16(2)
        tiff += be16(0x010F) + be16(2) + be32(makeBytes.count) + be32(makeOffset)
        tiff += be16(0x0112) + be16(3) + be32(1) + be16(orientation) + [0, 0]
        tiff += be32(ifd1Offset)
        tiff += makeBytes
        tiff += be16(2)
        tiff += be16(0x0201) + be16(4) + be32(1) + be32(thumbOffset)  // JPEGInterchangeFormat
        tiff += be16(0x0202) + be16(4) + be32(1) + be32(thumbnail.count)  // JPEGInterchangeFormatLength
        tiff += be32(0)
        tiff += thumbnail
        return Array("Exif".utf8) + [0, 0] + tiff
    }

    // MARK: - Formats and output options

    @Test func formatsCommandListsReaders() throws {
        let result = try runUpscaler(["formats"])
        #expect(result.status == 0)
        for line in ["PNG", "JPEG", "WebP", "TIFF", "GIF", "HEIF/AVIF"] {
            #expect(result.stdout.contains(line), "missing \(line) in\n\(result.stdout)")
        }
        // Debian's libvips reads TIFF and GIF; each row says whether this machine does.
        let tiff = result.stdout.split(separator: "\n").first { $0.contains("TIFF") } ?? ""
        #expect(tiff.hasSuffix("yes"), "\(tiff)")
    }

    /// A two-frame GIF (red, then blue) gives its first frame, opaque: no alpha band appears from nowhere.
    @Test func gifGivesItsFirstFrame() throws {
        let fixtures = try Fixtures()
        try fixtures.upscale("two-frames.gif", to: "out.png")
        let output = try fixtures.probe("probe", "out.png")
        #expect(output["width"] as? Int == 60 && output["height"] as? Int == 40)
        #expect(output["channels"] as? Int == 3)
        let decoded = try Imaging.decode(file: fixtures.path("out.png"), limits: .default)
        let plane = decoded.width * decoded.height
        let centre = 20 * decoded.width + 30
        #expect(decoded.pixels[centre] > 0.6 && decoded.pixels[2 * plane + centre] < 0.35, "first frame is red")
    }

    /// AVIF goes through libheif. Skipped (with a note) only if Pillow could not write the fixture.
    @Test func avifIsRead() throws {
        let fixtures = try Fixtures()
        guard FileManager.default.fileExists(atPath: fixtures.path("red.avif")) else {
            Issue.record("Pillow wrote no AVIF fixture")
            return
        }
        try fixtures.upscale("red.avif", to: "out.png")
        let decoded = try Imaging.decode(file: fixtures.path("out.png"), limits: .default)
        #expect(decoded.width == 64 && decoded.height == 48)
        let plane = decoded.width * decoded.height, centre = 24 * 64 + 32
        #expect(decoded.pixels[centre] > 0.6 && decoded.pixels[plane + centre] < 0.35, "red")
    }

    @Test func pngCompressionLevelChangesSizeNotPixels() throws {
        let fixtures = try Fixtures()
        try fixtures.upscale("adobergb-as-srgb.png", to: "fast.png", ["--compression", "0"])
        try fixtures.upscale("adobergb-as-srgb.png", to: "small.png", ["--compression", "9"])
        let fast = try fixtures.probe("probe", "fast.png"), small = try fixtures.probe("probe", "small.png")
        #expect((fast["bytes"] as? Int ?? 0) > 2 * (small["bytes"] as? Int ?? .max))
        let a = try Imaging.decode(file: fixtures.path("fast.png"), limits: .default)
        let b = try Imaging.decode(file: fixtures.path("small.png"), limits: .default)
        #expect(a.pixels == b.pixels)
    }

    @Test func progressiveJPEGAndLosslessWebP() throws {
        let fixtures = try Fixtures()
        try fixtures.upscale("adobergb-as-srgb.png", to: "out.jpg", ["--progressive"])
        #expect(try fixtures.probe("probe", "out.jpg")["progressive"] as? Bool == true)
        try fixtures.upscale("adobergb-as-srgb.png", to: "plain.jpg")
        #expect(try fixtures.probe("probe", "plain.jpg")["progressive"] as? Bool == false)
        try fixtures.upscale("adobergb-as-srgb.png", to: "out.webp", ["--lossless"])
        #expect(try fixtures.probe("probe", "out.webp")["webpLossless"] as? Bool == true)
        try fixtures.upscale("adobergb-as-srgb.png", to: "lossy.webp")
        #expect(try fixtures.probe("probe", "lossy.webp")["webpLossless"] as? Bool == false)
    }

    // MARK: - Input side limit

    /// Above 2x, an input longer than --max-input-side is shrunk first, with a warning; at 2x it is not.
    @Test func longInputIsShrunkAboveTwoX() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(syntheticImage(width: 150, height: 100)), to: "wide.png")
        let common = [
            "--model", PipelineFixtures.model, "--threads", "1",
            "--models-dir", PipelineFixtures.modelsDirectory.path, "--max-input-side", "60",
        ]
        let four = try runUpscaler(["upscale", input, "-o", scratch.path("four.png"), "--scale", "4"] + common)
        #expect(four.status == 0, "\(four.stderr)")
        #expect(four.stderr.contains("warning: wide.png: 150x100") && four.stderr.contains("60x40"), "\(four.stderr)")
        let header = try Imaging.readHeader(file: scratch.path("four.png"))
        #expect(header.width == 240 && header.height == 160)

        let two = try runUpscaler(["upscale", input, "-o", scratch.path("two.png"), "--scale", "2"] + common)
        #expect(two.status == 0 && !two.stderr.contains("warning"), "\(two.stderr)")
        let twoHeader = try Imaging.readHeader(file: scratch.path("two.png"))
        #expect(twoHeader.width == 300 && twoHeader.height == 200)
    }

    // MARK: - Alpha through the model

    /// `--alpha-upsampler model`: alpha comes out of the model, so it differs from the Lanczos resize in detail but
    /// agrees with it where the input alpha is flat (inside the disc, far outside it).
    @Test func alphaThroughTheModel() throws {
        let scratch = try ScratchFolder()
        let input = try scratch.write(PipelineTests.transparentTestImage(), to: "logo.png")
        let common = [
            "--model", PipelineFixtures.model, "--threads", "1",
            "--models-dir", PipelineFixtures.modelsDirectory.path,
        ]
        let model = try runUpscaler(
            ["upscale", input, "-o", scratch.path("model.png"), "--alpha-upsampler", "model"] + common)
        #expect(model.status == 0, "\(model.stderr)")
        let lanczos = try runUpscaler(["upscale", input, "-o", scratch.path("lanczos.png")] + common)
        #expect(lanczos.status == 0, "\(lanczos.stderr)")
        let a = try #require(try Imaging.decode(file: scratch.path("model.png"), limits: .default).alpha)
        let b = try #require(try Imaging.decode(file: scratch.path("lanczos.png"), limits: .default).alpha)
        #expect(a.count == b.count && a.count == 192 * 160)
        #expect(a != b, "the model path must not be the resize")
        let width = 192
        #expect(a[80 * width + 56] > 0.97, "disc centre opaque")  // input (14, 20)
        #expect(a[8 * width + 8] < 0.03, "corner transparent")  // input (2, 2)
        let meanDifference = zip(a, b).map { abs($0 - $1) }.reduce(0, +) / Float(a.count) * 255
        #expect(meanDifference < 10, "mean |model - lanczos| \(meanDifference) levels")
    }
}
