import ArgumentParser
import Foundation
import Imaging
import Inference
import InferenceCPU
import InferenceVulkan
import UpscaleCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the engine against the ncnn package on the same input, in one run.",
        discussion: """
        Prints the median, minimum and maximum wall time per run, output megapixels per second, and the ratio
        ncnn/upscaler. With --device gpu (or gpu:N), the GPU engine is timed too, against the CPU engine and ncnn
        in the same run. With --tiles, instead times the whole tiled upscale of a larger image for several tile sizes
        and reports speed and peak memory, to choose the default tile size.
        """)

    @Option(help: "Model name.") var model: String = ModelCatalog.defaultModel
    @Option(help: "Input edge in pixels (square input).") var size: Int = 128
    @Option(help: "Threads for both engines.") var threads: Int = 2
    @Option(help: "Timed runs per engine (after one warm-up).") var runs: Int = 3
    @Option(help: "Convolution precision for our CPU engine: fp32 or bf16.") var precision: Precision = .fp32
    @Option(name: .customLong("gpu-precision"), help: "With a GPU: fp16 or fp32 (default: fp16 where the GPU has it).")
    var gpuPrecision: Precision?
    @OptionGroup var device: DeviceOptions
    @Flag(name: .customLong("no-reference"), help: "Skip the ncnn reference run.") var noReference = false
    @Option(name: .customLong("reference-script"), help: "Path to tools/ncnn_reference.py (default: found next to the repository).")
    var referenceScript: String?
    @Option(help: "Comma-separated tile sizes to sweep through the tiled pipeline (e.g. 128,192,256).")
    var tiles: String?
    @Option(help: "With --tiles: comma-separated overlaps to sweep; each is scored by PSNR against an untiled run.")
    var overlaps: String?
    @Option(help: "Use a centred --size crop of this image instead of the synthetic input.")
    var image: String?
    @OptionGroup var models: ModelDirectoryOption

    func run() throws {
        guard runs >= 1, size >= 16, threads >= 1 else { throw fail("--runs, --threads must be at least 1 and --size at least 16") }
        do {
            let files = try models.store.locate(model)
            let network = try Network(paramFile: files.param, binFile: files.bin)
            if let tiles {
                let sizes = tiles.split(separator: ",").compactMap { Int($0) }
                guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 16 }) else { throw fail("--tiles takes sizes of at least 16") }
                try sweepTiles(network, sizes: sizes)
                return
            }
            let engine = try CPUEngine(network: network, options: EngineOptions(threads: threads, precision: precision))
            let input = try benchmarkInput()
            let scale = try network.scaleFactor()
            let outputMegapixels = Double(size * size * scale * scale) / 1e6
            print("model \(model), input \(size)x\(size), \(threads) threads, our precision \(precision.rawValue)")

            let firstHalf = try Benchmark.timeEngine(engine, input: input, runs: (runs + 1) / 2)
            var reference: Benchmark.ReferenceRun?
            if !noReference {
                reference = try Benchmark.timeNCNN(script: try scriptURL(), param: files.param, bin: files.bin,
                                                   input: input, threads: threads, runs: runs)
            }
            let secondHalf = try Benchmark.timeEngine(engine, input: input, runs: runs / 2)
            let ours = Benchmark.Timing(label: "upscaler (oneDNN \(precision.rawValue))", runs: firstHalf + secondHalf)
            var rows = [ours]
            if let reference { rows.append(Benchmark.Timing(label: "ncnn \(reference.version) (PyPI, CPU)", runs: reference.runs)) }
            if case .gpu(let gpu) = try ComputeTarget.resolve(try device.choice()) {
                let gpuEngine = try VulkanEngine(network: network, device: gpu.index, precision: gpuPrecision)
                let timing = Benchmark.Timing(label: "upscaler (Vulkan \(gpuEngine.precision.rawValue))",
                                              runs: try Benchmark.timeEngine(gpuEngine, input: input, runs: runs))
                print("gpu: \(gpu)")
                let a = Benchmark.agreement(try gpuEngine.run(input), try engine.run(input))
                print(String(format: "GPU %@ against the CPU engine, 8-bit output: max %d levels, %.2f%% identical, PSNR %.1f dB",
                             gpuEngine.precision.rawValue, a.maxLevels, a.identicalFraction * 100, a.psnr))
                print(String(format: "speed-up (CPU engine median / GPU median): %.2fx", ours.median / timing.median))
                rows.append(timing)
            }
            print("engine                              median      min      max   out MP/s")
            for row in rows {
                print(row.label.padding(toLength: 32, withPad: " ", startingAt: 0)
                    + String(format: " %7.3f s %7.3f s %7.3f s %8.3f", row.median, row.minimum, row.maximum,
                             outputMegapixels / row.median))
            }
            if reference != nil {
                print(String(format: "speed-up (ncnn median / upscaler median): %.2fx", rows[1].median / rows[0].median))
            }
            let counts = Dictionary(grouping: engine.convolutionImplementations, by: { $0 }).mapValues(\.count)
            print("convolution kernels: " + counts.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", "))
            if precision != .fp32 {
                let exact = try CPUEngine(network: network, options: EngineOptions(threads: threads))
                let a = Benchmark.agreement(try engine.run(input), try exact.run(input))
                print(String(format: "%@ against fp32, 8-bit output: max %d levels, %.2f%% identical, PSNR %.1f dB",
                             precision.rawValue, a.maxLevels, a.identicalFraction * 100, a.psnr))
            }
            if !engine.profile.isEmpty {
                print("profile (all runs): " + engine.profile.sorted { $0.value > $1.value }
                    .map { String(format: "%@ %.3f s", $0.key, $0.value) }.joined(separator: ", "))
            }
            print(String(format: "activation buffers: %.1f MB, peak RSS: %.1f MB", Double(engine.planBytes) / 1e6,
                         Double(Benchmark.peakResidentBytes()) / 1e6))
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail(UpscaleError(error, modelName: model).message)
        }
    }

    /// Times the tiled upscale of a `size`-pixel square image for each tile size; smallest tiles first, since peak RSS
    /// only grows.
    private func sweepTiles(_ network: Network, sizes: [Int]) throws {
        let input = try benchmarkInput()
        let scale = try network.scaleFactor()
        let overlapList = overlaps?.split(separator: ",").compactMap { Int($0) } ?? [TilingOptions().overlap]
        var untiled: Tensor?
        if overlaps != nil {
            let whole = try CPUEngine(network: network, options: EngineOptions(threads: threads, precision: precision))
            let pad = TilingOptions().pad
            untiled = try Tiler.upscale(input, scale: scale, engine: whole,
                                        options: TilingOptions(tile: size + 2 * pad, overlap: 0, pad: pad))
        }
        print("tiled upscale of \(size)x\(size) with \(model), \(threads) threads, pad \(TilingOptions().pad)")
        print(" tile overlap tiles   median s  out MP/s  buffers MB  peak RSS MB  PSNR vs untiled")
        for tile in sizes.sorted() {
            for overlap in overlapList {
            let engine = try CPUEngine(network: network, options: EngineOptions(threads: threads, precision: precision))
            let options = TilingOptions(tile: tile, overlap: overlap)
            var output: Tensor?
            var times: [Double] = []
            for _ in 0..<max(1, runs) {
                let start = Date()
                output = try Tiler.upscale(input, scale: scale, engine: engine, options: options)
                times.append(Date().timeIntervalSince(start))
            }
            let median = times.sorted()[times.count / 2]
            let megapixels = Double(size * size * scale * scale) / 1e6
            let psnr = untiled.map { String(format: "%.1f dB", Benchmark.agreement(output!, $0).psnr) } ?? "-"
            print(String(format: "%5d %7d %5d %10.2f %9.3f %11.1f %12.1f  ", tile, overlap,
                         Tiler.tileCount(height: size, width: size, options: options), median, megapixels / median,
                         Double(engine.planBytes) / 1e6, Double(Benchmark.peakResidentBytes()) / 1e6) + psnr)
            }
        }
    }

    /// A centred `size` crop of `--image`, or the synthetic photo-like input.
    private func benchmarkInput() throws -> Tensor {
        guard let image else { return Benchmark.syntheticImage(height: size, width: size) }
        try Imaging.initialize()
        let decoded = try Imaging.decode(file: image, limits: .default)
        guard decoded.width >= size, decoded.height >= size else { throw fail("\(image) is smaller than --size") }
        return Tensor(decoded).centreCrop(size)
    }

    private func scriptURL() throws -> URL {
        if let referenceScript { return URL(fileURLWithPath: referenceScript) }
        // The working directory, then every folder above the executable: `.build/release` is a symlink into
        // `.build/<triple>/release`, so the repository root is not a fixed number of levels up.
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while folder.path != "/" {
            candidates.append(folder)
            folder.deleteLastPathComponent()
        }
        let script = "tools/ncnn_reference.py"
        guard let found = candidates.map({ $0.appendingPathComponent(script) })
            .first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw UpscaleError(.invalidOption, "cannot find \(script); pass --reference-script")
        }
        return found
    }
}
