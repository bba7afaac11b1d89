import Foundation
import Imaging
import TestSupport
import Testing
import UpscaleCore

/// The `upscaler upscale` executable, run as a subprocess with stdout and stderr on pipes.
///
/// A failed run must exit non-zero, say what went wrong in exactly one stderr line, and leave nothing in the output
/// folder: neither the output nor the `.partial` file it is written through.
@Suite(
    .enabled(if: PipelineFixtures.modelInstalled, "realesr-animevideov3 is not installed; run `upscaler models fetch`"))
struct CommandLineTests {
    /// A scratch folder with a valid 24x20 `small.png` and an empty `out` folder for outputs.
    final class Workspace {
        let scratch: ScratchFolder
        let input: String
        let outputFolder: String

        init() throws {
            scratch = try ScratchFolder()
            input = try scratch.write(try pngBytes(syntheticImage(width: 24, height: 20)), to: "small.png")
            outputFolder = try scratch.folder("out")
        }

        /// `upscaler upscale INPUTS -o out/NAME` with the small model on one thread, plus `extra` options.
        func run(
            _ inputs: [String], output: String = "result.png", _ extra: [String] = [],
            modelsDirectory: String = PipelineFixtures.modelsDirectory.path
        ) throws -> CommandResult {
            try runUpscaler(
                ["upscale"] + inputs + [
                    "-o", (outputFolder as NSString).appendingPathComponent(output),
                    "--model", PipelineFixtures.model, "--threads", "1", "--models-dir", modelsDirectory,
                ] + extra)
        }
    }

    /// Checks the one-line failure and the empty output folder.
    func expectFailure(
        _ result: CommandResult, in workspace: Workspace, mentioning words: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status != 0, "exit status", sourceLocation: sourceLocation)
        #expect(
            result.stderrLines.count == 1, "stderr should be one line, got:\n\(result.stderr)",
            sourceLocation: sourceLocation)
        let line = result.stderrLines.first ?? ""
        #expect(line.hasPrefix("upscaler: error: "), "\(line)", sourceLocation: sourceLocation)
        for word in words {
            #expect(line.contains(word), "'\(line)' should mention '\(word)'", sourceLocation: sourceLocation)
        }
        #expect(
            workspace.scratch.contents(of: "out").isEmpty,
            "left behind: \(workspace.scratch.contents(of: "out"))", sourceLocation: sourceLocation)
    }

    // MARK: - Unreadable inputs

    enum CorruptInput: String, CaseIterable, Sendable {
        case truncatedPNG, randomBytes
    }

    @Test(arguments: CorruptInput.allCases)
    func corruptImageIsNamed(_ kind: CorruptInput) throws {
        let workspace = try Workspace()
        let name: String
        switch kind {
        case .truncatedPNG:
            // Enough noise that the PNG has a long IDAT; half of it keeps the header and loses pixel data.
            let png = try pngBytes(syntheticImage(width: 64, height: 48, seed: 7))
            name = "cut-in-half.png"
            try workspace.scratch.write(Array(png.prefix(png.count / 2)), to: name)
        case .randomBytes:
            var generator = SeededRandom(seed: 3)
            name = "random-bytes.png"
            try workspace.scratch.write((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }, to: name)
        }
        let result = try workspace.run([workspace.scratch.path(name)])
        expectFailure(result, in: workspace, mentioning: [name])
    }

    // MARK: - Unsupported formats

    /// A 2x2 24-bit BMP: 14-byte file header, 40-byte BITMAPINFOHEADER, two rows of 6 bytes padded to 8.
    static let bmp: [UInt8] = {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let pixels: [UInt8] = [0, 0, 255, 0, 255, 0, 0, 0, 255, 0, 0, 255, 255, 255, 0, 0]
        let fileSize = 14 + 40 + pixels.count
        let fileHeader = [UInt8(ascii: "B"), UInt8(ascii: "M")] + le32(fileSize) + le32(0) + le32(54)
        let infoHeader =
            le32(40) + le32(2) + le32(2) + le16(1) + le16(24) + le32(0) + le32(pixels.count)
            + le32(2835) + le32(2835) + le32(0) + le32(0)
        return fileHeader + infoHeader + pixels
    }()

    enum Unsupported: String, CaseIterable, Sendable {
        case bmp, bmpNamedPNG, text

        var file: (name: String, bytes: [UInt8]) {
            switch self {
            case .bmpNamedPNG: ("really-a-bmp.png", CommandLineTests.bmp)
            case .bmp: ("pixels.bmp", CommandLineTests.bmp)
            case .text: ("notes.txt", Array("these are not pixels\n".utf8))
            }
        }
    }

    @Test(arguments: Unsupported.allCases)
    func unsupportedFormatIsRefused(_ kind: Unsupported) throws {
        let workspace = try Workspace()
        let (name, bytes) = kind.file
        try workspace.scratch.write(bytes, to: name)
        let result = try workspace.run([workspace.scratch.path(name)])
        expectFailure(result, in: workspace, mentioning: [name, "not an image format Upscaler reads"])
    }

    // MARK: - Models

    @Test func unknownModelNameSaysHowToGetModels() throws {
        let workspace = try Workspace()
        let result = try runUpscaler([
            "upscale", workspace.input, "-o", (workspace.outputFolder as NSString).appendingPathComponent("r.png"),
            "--model", "nonexistent", "--threads", "1", "--models-dir", PipelineFixtures.modelsDirectory.path,
        ])
        expectFailure(result, in: workspace, mentioning: ["nonexistent", "upscaler models fetch"])
    }

    @Test func emptyModelsDirectoryNamesTheMissingFile() throws {
        let workspace = try Workspace()
        let empty = try workspace.scratch.folder("no-models")
        let result = try workspace.run([workspace.input], modelsDirectory: empty)
        expectFailure(
            result, in: workspace,
            mentioning: ["\(PipelineFixtures.model).param", "upscaler models fetch"])
    }

    /// A copy of the model whose weightless PixelShuffle layer is renamed to an op the engine lacks; the `.bin` is
    /// copied unchanged, so the weights still line up and only the op can be the problem.
    @Test func unsupportedOperationNamesOpAndLayer() throws {
        let workspace = try Workspace()
        let models = try workspace.scratch.folder("models")
        let source = PipelineFixtures.modelsDirectory
        let param = try String(
            contentsOf: source.appendingPathComponent("\(PipelineFixtures.model).param"),
            encoding: .utf8)
        // The installed file has CRLF line ends; split on any newline and swap the one line in place.
        let line = try #require(param.split(whereSeparator: \.isNewline).first { $0.hasPrefix("PixelShuffle ") })
        let layer = String(line.split(separator: " ")[1])
        let renamed = "Softmax" + line.dropFirst("PixelShuffle".count)
        try param.replacingOccurrences(of: String(line), with: renamed)
            .write(
                toFile: (models as NSString).appendingPathComponent("\(PipelineFixtures.model).param"),
                atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            at: source.appendingPathComponent("\(PipelineFixtures.model).bin"),
            to: URL(fileURLWithPath: models).appendingPathComponent("\(PipelineFixtures.model).bin"))

        let result = try workspace.run([workspace.input], modelsDirectory: models)
        expectFailure(result, in: workspace, mentioning: ["Softmax", layer])
    }

    /// A failed run leaves an existing output untouched; a successful one replaces it.
    @Test func existingOutputSurvivesAFailureAndIsReplacedOnSuccess() throws {
        let workspace = try Workspace()
        let old = Array("the old result".utf8)
        let output = try workspace.scratch.write(old, to: "out/result.png")
        let broken = try workspace.scratch.write(Array("not an image at all".utf8), to: "broken.png")

        let failed = try workspace.run([broken])
        #expect(failed.status != 0)
        #expect(failed.stderrLines.count == 1, "\(failed.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(old))

        let succeeded = try workspace.run([workspace.input])
        #expect(succeeded.status == 0, "\(succeeded.stderr)")
        #expect(try Imaging.readHeader(file: output) == ImageHeader(width: 96, height: 80, bands: 3, format: .png))
        #expect(workspace.scratch.contents(of: "out") == ["result.png"])
    }

    // MARK: - Options

    @Test(arguments: [
        (["--scale", "0"], "scale"),
        (["--scale", "17"], "scale"),
        (["--quality", "200"], "quality"),
        (["--quality", "0"], "quality"),
        (["--format", "gif"], "gif"),
        (["--tile", "8"], "tile"),
        (["--tile", "32", "--tile-overlap", "20"], "overlap"),
        (["--pad", "100"], "pad"),
        (["--threads", "0"], "threads"),
    ])
    func badOptionIsOneLine(_ options: [String], mentions word: String) throws {
        let workspace = try Workspace()
        let result = try workspace.run([workspace.input], options)
        expectFailure(result, in: workspace, mentioning: [word])
    }

    @Test func scaleAndBoxTogetherAreRefused() throws {
        let workspace = try Workspace()
        let result = try workspace.run([workspace.input], ["--scale", "2", "--width", "30"])
        expectFailure(result, in: workspace, mentioning: ["scale", "width"])
    }

    @Test func missingInputIsNamed() throws {
        let workspace = try Workspace()
        let result = try workspace.run([workspace.scratch.path("not-here.png")])
        expectFailure(result, in: workspace, mentioning: ["not-here.png"])
    }

    // MARK: - Several inputs

    /// Two inputs write into the output folder, named after each input with the output format's extension.
    static let outputFormats: [(option: String?, ext: String, format: ImageFormat)] = [
        (nil, "png", .png), ("webp", "webp", .webp), ("jpeg", "jpg", .jpeg),
    ]

    @Test(arguments: outputFormats)
    func severalInputsGoIntoTheOutputFolder(format: String?, ext: String, expected: ImageFormat) throws {
        let workspace = try Workspace()
        let first = try workspace.scratch.write(
            try pngBytes(syntheticImage(width: 13, height: 9, seed: 1)), to: "first.png")
        let second = try workspace.scratch.write(
            try Imaging.encode(syntheticImage(width: 10, height: 11, seed: 2), format: .jpeg, quality: 90),
            to: "second.jpg")
        let result = try runUpscaler(
            [
                "upscale", first, second, "-o", workspace.scratch.path("results"),
                "--model", PipelineFixtures.model, "--threads", "1", "--models-dir",
                PipelineFixtures.modelsDirectory.path,
            ] + (format.map { ["--format", $0] } ?? []))

        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "a successful run writes nothing on stderr: \(result.stderr)")
        #expect(workspace.scratch.contents(of: "results") == ["first.\(ext)", "second.\(ext)"])
        let a = try Imaging.readHeader(file: workspace.scratch.path("results/first.\(ext)"))
        let b = try Imaging.readHeader(file: workspace.scratch.path("results/second.\(ext)"))
        #expect(a == ImageHeader(width: 52, height: 36, bands: 3, format: InputFormat(expected)))
        #expect(b == ImageHeader(width: 40, height: 44, bands: 3, format: InputFormat(expected)))
    }

    /// A folder input takes its PNG, JPEG and WebP files (by extension) and skips everything else.
    @Test func folderInputWritesEachImage() throws {
        let workspace = try Workspace()
        _ = try workspace.scratch.folder("photos")
        try workspace.scratch.write(try pngBytes(syntheticImage(width: 8, height: 6, seed: 4)), to: "photos/a.png")
        try workspace.scratch.write(
            try Imaging.encode(syntheticImage(width: 7, height: 9, seed: 5), format: .webp, quality: 90),
            to: "photos/b.webp")
        try workspace.scratch.write(Array("not an image".utf8), to: "photos/readme.txt")
        let result = try runUpscaler([
            "upscale", workspace.scratch.path("photos"), "-o", workspace.scratch.path("big"),
            "--model", PipelineFixtures.model, "--threads", "1", "--models-dir", PipelineFixtures.modelsDirectory.path,
        ])

        #expect(result.status == 0, "\(result.stderr)")
        #expect(workspace.scratch.contents(of: "big") == ["a.png", "b.png"])
        #expect(
            try Imaging.readHeader(file: workspace.scratch.path("big/a.png"))
                == ImageHeader(width: 32, height: 24, bands: 3, format: .png))
        #expect(
            try Imaging.readHeader(file: workspace.scratch.path("big/b.png"))
                == ImageHeader(width: 28, height: 36, bands: 3, format: .png))
    }

    /// One bad input among good ones: the good ones are written, the bad one gets its one line, the exit is non-zero.
    @Test func oneBadInputAmongGoodOnes() throws {
        let workspace = try Workspace()
        let bad = try workspace.scratch.write(Array("garbage".utf8) + [UInt8](repeating: 0, count: 64), to: "bad.png")
        let result = try runUpscaler([
            "upscale", workspace.input, bad, "-o", workspace.outputFolder,
            "--model", PipelineFixtures.model, "--threads", "1", "--models-dir", PipelineFixtures.modelsDirectory.path,
        ])

        #expect(result.status != 0)
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderrLines.first?.contains("bad.png") == true, "\(result.stderr)")
        #expect(workspace.scratch.contents(of: "out") == ["small.png"])
        #expect(
            try Imaging.readHeader(file: workspace.scratch.path("out/small.png"))
                == ImageHeader(width: 96, height: 80, bands: 3, format: .png))
    }

    /// `-o` naming an existing folder puts a single input's result inside it.
    @Test func singleInputIntoExistingFolder() throws {
        let workspace = try Workspace()
        let result = try runUpscaler([
            "upscale", workspace.input, "-o", workspace.outputFolder, "--format", "webp",
            "--model", PipelineFixtures.model, "--threads", "1", "--models-dir", PipelineFixtures.modelsDirectory.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(workspace.scratch.contents(of: "out") == ["small.webp"])
        #expect(
            try Imaging.readHeader(file: workspace.scratch.path("out/small.webp"))
                == ImageHeader(width: 96, height: 80, bands: 3, format: .webp))
    }

    // MARK: - Devices

    /// The loader pointed at a driver list that does not exist: a machine with no Vulkan driver.
    static let noVulkanDriver = [
        "VK_ICD_FILENAMES": "/nonexistent/icd.json", "VK_DRIVER_FILES": "/nonexistent/icd.json",
    ]

    /// On lavapipe here and in CI: `--device gpu` runs the model on the Vulkan device and says so.
    @Test func upscaleOnTheGPU() throws {
        let workspace = try Workspace()
        let result = try workspace.run([workspace.input], ["--device", "gpu", "--precision", "fp32"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("24x20 -> 96x80"), "\(result.stdout)")
        #expect(result.stdout.contains("on gpu:0"), "\(result.stdout)")
        let output = try Imaging.decode(file: workspace.scratch.path("out/result.png"), limits: .default)
        #expect(output.width == 96 && output.height == 80)
    }

    @Test func devicesListsTheVulkanDeviceAndWhatAutoPicks() throws {
        let result = try runUpscaler(["devices"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("cpu: ") == true, "\(result.stdout)")
        let gpus = lines.filter { $0.hasPrefix("gpu:") && !$0.hasPrefix("gpu: none") }
        #expect(!gpus.isEmpty, "no Vulkan device listed: \(result.stdout)")
        // Only software drivers (lavapipe) here: `auto` must not take one.
        if gpus.allSatisfy({ $0.contains("(cpu,") }) {
            #expect(lines.last == "auto: cpu", "\(result.stdout)")
        }
    }

    @Test func withoutAVulkanDriverGPUIsOneLineAndAutoRunsOnTheCPU() throws {
        let workspace = try Workspace()
        let refused = try runUpscaler(
            [
                "upscale", workspace.input, "-o", workspace.scratch.path("out/x.png"),
                "--model", PipelineFixtures.model, "--models-dir",
                PipelineFixtures.modelsDirectory.path, "--device", "gpu",
            ],
            environment: Self.noVulkanDriver)
        expectFailure(refused, in: workspace, mentioning: ["Vulkan"])

        let automatic = try workspace.run([workspace.input], ["--device", "auto"])
        #expect(automatic.status == 0, "\(automatic.stderr)")
        let onCPU = try runUpscaler(
            [
                "upscale", workspace.input, "-o", workspace.scratch.path("out/auto.png"),
                "--model", PipelineFixtures.model, "--threads", "1", "--models-dir",
                PipelineFixtures.modelsDirectory.path,
            ], environment: Self.noVulkanDriver)
        #expect(onCPU.status == 0, "\(onCPU.stderr)")
        #expect(onCPU.stdout.contains("on cpu"), "\(onCPU.stdout)")

        let devices = try runUpscaler(["devices"], environment: Self.noVulkanDriver)
        #expect(devices.status == 0)
        #expect(devices.stdout.contains("gpu: none"), "\(devices.stdout)")
        #expect(devices.stdout.contains("auto: cpu"), "\(devices.stdout)")
    }

    /// A tile whose buffers pass the device's limit (lavapipe addresses at most 128 MiB per buffer; a 760 px fp32
    /// tile of animevideov3 needs 148 MB) is the GPU running out of memory: one line without `--cpu-fallback`, and
    /// the image finished on the CPU with a warning with it.
    @Test func aGPUOutOfMemoryFailsOneLineOrFallsBackToTheCPU() throws {
        let workspace = try Workspace()
        let big = try workspace.scratch.write(
            try pngBytes(syntheticImage(width: 740, height: 740, seed: 5)), to: "big.png")
        let gpu = ["--device", "gpu", "--precision", "fp32", "--tile", "1024"]
        expectFailure(try workspace.run([big], gpu), in: workspace, mentioning: ["use a smaller --tile"])

        let fallback = try workspace.run([big], gpu + ["--cpu-fallback"])
        #expect(fallback.status == 0, "\(fallback.stderr)")
        #expect(
            fallback.stdout.contains("740x740 -> 2960x2960") && fallback.stdout.contains("on cpu"), "\(fallback.stdout)"
        )
        #expect(fallback.stderr.contains("the GPU failed"), "\(fallback.stderr)")
    }

    @Test func badDeviceNamesAreRefused() throws {
        let workspace = try Workspace()
        expectFailure(
            try workspace.run([workspace.input], ["--device", "tpu"]), in: workspace, mentioning: ["--device"])
        expectFailure(
            try workspace.run([workspace.input], ["--device", "gpu:7"]), in: workspace, mentioning: ["gpu:7"])
        // A precision the device does not run is the option's fault, not the model's.
        let bf16 = try workspace.run([workspace.input], ["--device", "gpu", "--precision", "bf16"])
        expectFailure(bf16, in: workspace, mentioning: ["bf16"])
        #expect(!bf16.stderr.contains("models verify"), "\(bf16.stderr)")
        let fp16 = try workspace.run([workspace.input], ["--device", "cpu", "--precision", "fp16"])
        expectFailure(fp16, in: workspace, mentioning: ["fp16"])
    }
}
