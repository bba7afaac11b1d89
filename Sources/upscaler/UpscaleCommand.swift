public import ArgumentParser
import Foundation
import Imaging
public import Inference
import InferenceCPU
import UpscaleCore

extension Precision: ExpressibleByArgument {}
extension AlphaUpsampler: ExpressibleByArgument {}

struct UpscaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscale",
        abstract: "Upscale images with a Real-ESRGAN model.",
        discussion: """
            One input writes to the file named by -o. Several inputs, or a folder, write into the folder named by -o,
            keeping each file's name with the output format's extension.
            """)

    @Argument(help: "Input images (PNG, JPEG, WebP, TIFF, GIF, HEIF/AVIF; see `upscaler formats`), or folders of them.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Output file, or output folder for several inputs.")
    var output: String

    @Option(help: "Model name (see `upscaler models list`).")
    var model: String = ModelCatalog.defaultModel

    @Option(
        help:
            "Output scale relative to the input, up to 16 (default: the model's native scale). Other values are reached by a Lanczos resize; above the native scale the model runs twice."
    )
    var scale: Double?

    @Option(help: "Fit the output into this width, keeping the aspect ratio (instead of --scale).")
    var width: Int?

    @Option(help: "Fit the output into this height, keeping the aspect ratio (instead of --scale).")
    var height: Int?

    @Option(help: "Output format: png, jpg or webp (default: from the output name, else png).")
    var format: String?

    @Option(help: "Colour a transparent image is flattened onto for jpg output: #rrggbb, white or black.")
    var background: String = "white"

    @Option(help: "JPEG/WebP quality, 1-100.")
    var quality: Int = 95

    @Option(help: "PNG compression level, 0 (fast, large) to 9 (slow, small); PNG is lossless at every level.")
    var compression: Int = 6

    @Flag(help: "Write progressive JPEG.")
    var progressive = false

    @Flag(help: "Write lossless WebP (--quality is then ignored).")
    var lossless = false

    @Flag(
        name: .customLong("keep-profile"),
        help: "Convert the output back to the input's ICC profile instead of sRGB (the model always works in sRGB).")
    var keepProfile = false

    @Flag(
        name: .customLong("strip-metadata"),
        help: "Drop EXIF, XMP and IPTC. By default they are kept, with orientation reset to 1 and no EXIF thumbnail.")
    var stripMetadata = false

    @Option(
        help: ArgumentHelp(
            "Denoise strength, 0 (keep noise) to 1 (strong denoise): blends the model's weights with its weak-denoise "
                + "companion's, e.g. realesr-general-x4v3 with realesr-general-wdn-x4v3 (both imported).",
            valueName: "0..1"))
    var denoise: Double?

    @Option(
        name: .customLong("alpha-upsampler"),
        help: "How transparency is enlarged: lanczos (resize) or model (through the model as grey; twice the time).")
    var alphaUpsampler: AlphaUpsampler = .lanczos

    @Option(
        help:
            "Tile edge in input pixels (default: \(TilingOptions().tile) on the CPU; on a GPU the largest its memory holds)."
    )
    var tile: Int?

    @Option(name: .customLong("tile-overlap"), help: "Minimum overlap between tiles, in input pixels.")
    var tileOverlap: Int = TilingOptions().overlap

    @Option(help: "Reflection padding around the image, in input pixels (0 disables).")
    var pad: Int = TilingOptions().pad

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int = EngineOptions.defaultThreadCount

    @Option(
        help:
            "Convolution precision: fp32 or bf16 on the CPU, fp16 or fp32 on a GPU (default: fp32 on the CPU, fp16 on a GPU that has it)."
    )
    var precision: Precision?

    @OptionGroup var device: DeviceOptions

    @Option(name: .customLong("max-pixels"), help: "Refuse inputs with more pixels than this (checked on the header).")
    var maxPixels: Int = ImageLimits.default.maxPixels

    @Option(
        name: .customLong("max-file-size"),
        help: "Refuse input files larger than this many MiB (checked before reading).")
    var maxFileSize: Int = ImageLimits.default.maxFileBytes / (1024 * 1024)

    @Option(
        name: .customLong("max-input-side"),
        help: "Above 2x, shrink inputs whose longest side is longer than this first, with a warning (0 turns it off).")
    var maxInputSide: Int = UpscaleOptions.defaultMaxInputSide

    @OptionGroup var models: ModelDirectoryOption

    func run() throws {
        guard (1...(Int.max >> 20)).contains(maxFileSize) else { throw fail("--max-file-size must be at least 1 MiB") }
        var options = UpscaleOptions(
            model: model, scale: scale, quality: quality,
            tiling: TilingOptions(tile: tile ?? TilingOptions().tile, overlap: tileOverlap, pad: pad),
            threads: threads, precision: precision,
            limits: ImageLimits(maxPixels: maxPixels, maxFileBytes: maxFileSize << 20))
        options.pngCompression = compression
        options.progressive = progressive
        options.lossless = lossless
        options.keepProfile = keepProfile
        options.stripMetadata = stripMetadata
        options.alphaUpsampler = alphaUpsampler
        options.denoise = denoise
        options.autoTile = tile == nil
        options.device = try device.choice()
        options.cpuFallback = device.cpuFallback
        options.maxInputSide = maxInputSide == 0 ? nil : maxInputSide
        guard let colour = UpscaleOptions.parseColour(background) else {
            throw fail("--background must be #rrggbb, white or black, got '\(background)'")
        }
        options.background = colour
        options.fitWidth = width
        options.fitHeight = height
        if let format {
            guard let parsed = ImageFormat(name: format) else {
                throw fail("unknown format '\(format)'; use png, jpg or webp")
            }
            options.format = parsed
        }
        do { try options.validate() } catch let error as UpscaleError { throw fail(error.message) }

        let jobs: [(input: String, output: String)]
        do { jobs = try plan(format: options.format) } catch { throw fail(UpscaleError(error).message) }
        let upscaler: Upscaler
        do {
            upscaler = try Upscaler(store: models.store)
            // A missing or unusable model is one error for the run, not one per image.
            try upscaler.prepare(options)
        } catch {
            throw fail(UpscaleError(error, modelName: model).message)
        }

        var failures = 0
        for job in jobs {
            let name = URL(fileURLWithPath: job.input).lastPathComponent
            let reporter = ProgressReporter(label: name)
            do {
                let result = try upscaler.upscale(
                    file: job.input, to: job.output, options: options,
                    progress: reporter.report)
                for warning in result.warnings { printError("warning: \(name): \(warning)") }
                let seconds = result.timings.reduce(0) { $0 + $1.seconds }
                print(
                    "\(job.input) -> \(job.output): \(result.inputWidth)x\(result.inputHeight) -> \(result.outputWidth)x\(result.outputHeight) in \(String(format: "%.2f", seconds)) s on \(result.device)"
                )
            } catch {
                reporter.finish()
                failures += 1
                let message = UpscaleError(error, modelName: model).message
                // The imaging layer already names the file; don't say it twice.
                printError("error: " + (message.contains(name) ? message : "\(name): \(message)"))
            }
        }
        if failures > 0 { throw ExitCode.failure }
    }

    /// Pairs inputs with output paths: one file to one file, otherwise files into a folder.
    private func plan(format: ImageFormat?) throws -> [(input: String, output: String)] {
        let fm = FileManager.default
        var files: [String] = []
        var sawFolder = false
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDirectory) else {
                throw UpscaleError(.invalidInput, "\(input): no such file or folder")
            }
            if isDirectory.boolValue {
                sawFolder = true
                let names = try fm.contentsOfDirectory(atPath: input).sorted()
                let readable = Set(InputFormat.available.flatMap(\.fileExtensions))
                files += names.filter { readable.contains(($0 as NSString).pathExtension.lowercased()) }
                    .map { (input as NSString).appendingPathComponent($0) }
            } else {
                files.append(input)
            }
        }
        guard !files.isEmpty else { throw UpscaleError(.invalidInput, "no images found in the inputs") }
        var isDirectory: ObjCBool = false
        let outputIsFolder = fm.fileExists(atPath: output, isDirectory: &isDirectory) && isDirectory.boolValue
        if files.count == 1 && !sawFolder && !outputIsFolder { return [(files[0], output)] }
        try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
        let ext = (format ?? .png).fileExtension
        let jobs = files.map { file in
            let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            return (input: file, output: (output as NSString).appendingPathComponent("\(stem).\(ext)"))
        }
        // `a.png` and `a.jpg` would both become `a.<ext>`: refuse rather than let one silently overwrite the other.
        let clashes = Dictionary(grouping: jobs, by: \.output).filter { $0.value.count > 1 }
        if let clash = clashes.first {
            throw UpscaleError(
                .invalidOption,
                "\(clash.value.map(\.input).joined(separator: " and ")) would both be written to \(clash.key)")
        }
        return jobs
    }
}
