import ArgumentParser
import Benchmarks
import Foundation
import Imaging
import Inference
import InferenceCPU
import InferenceVulkan
import UpscaleCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the engine against ncnn and OpenVINO on the same input, in one run.",
        discussion: """
            Prints the median, minimum and maximum wall time per run and output megapixels per second for our CPU engine
            in fp32 and, where the CPU has our bf16 kernels (AVX-512 BF16), in bf16; then for ncnn and for OpenVINO with
            its default settings and with f32, each on the same input and thread count; then the ratios. Our runs are
            split before and after the references, so drift over the invocation hits every engine alike.
            With --device gpu (or gpu:N), the GPU engine is timed too. With --sizes, instead times the default tiled
            upscale (padding and tiles as `upscaler upscale` uses them) of square inputs over a range of sizes and reports
            speed per size. With --tiles, times the tiled upscale of a larger image for several tile sizes.
            """)

    @Option(help: "Model name.") var model: String = ModelCatalog.defaultModel
    @Option(help: "Input edge in pixels (square input).") var size: Int = 128
    @Option(help: "Threads for every engine.") var threads: Int = 2
    @Option(help: "Timed runs per engine (after one warm-up).") var runs: Int = 3
    @Option(
        help: "Only this CPU precision (fp32 or bf16); default: fp32, and bf16 where this CPU has our bf16 kernels.")
    var precision: Precision?
    @Option(name: .customLong("gpu-precision"), help: "With a GPU: fp16 or fp32 (default: fp16 where the GPU has it).")
    var gpuPrecision: Precision?
    @OptionGroup var device: DeviceOptions
    @Flag(name: .customLong("no-reference"), help: "Skip the ncnn and OpenVINO reference runs.") var noReference = false
    @Flag(name: .customLong("no-openvino"), help: "Skip the OpenVINO reference runs.") var noOpenVINO = false
    @Option(
        name: .customLong("reference-script"),
        help: "Path to tools/ncnn_reference.py (default: found next to the repository).")
    var referenceScript: String?
    @Option(
        help: "Sizes to sweep through the default tiled upscale, FIRST-LAST:STEP or comma-separated (e.g. 64-256:4).")
    var sizes: String?
    @Option(help: "Comma-separated tile sizes to sweep through the tiled pipeline (e.g. 128,192,256).")
    var tiles: String?
    @Option(help: "With --tiles: comma-separated overlaps to sweep; each is scored by PSNR against an untiled run.")
    var overlaps: String?
    @Option(help: "Use a centred --size crop of this image instead of the synthetic input.")
    var image: String?
    @OptionGroup var models: ModelDirectoryOption

    func run() throws {
        guard runs >= 1, size >= 16, threads >= 1 else {
            throw fail("--runs, --threads must be at least 1 and --size at least 16")
        }
        do {
            let files = try models.store.locate(model)
            let network = try Network(paramFile: files.param, binFile: files.bin)
            if let tiles {
                let sizes = tiles.split(separator: ",").compactMap { Int($0) }
                guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 16 }) else {
                    throw fail("--tiles takes sizes of at least 16")
                }
                try sweepTiles(network, sizes: sizes)
                return
            }
            if let sizes {
                try sweepSizes(network, sizes: try Self.parseSizes(sizes))
                return
            }
            try compareEngines(network, files: files)
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail(UpscaleError(error, modelName: model).message)
        }
    }

    /// Our CPU engine in each precision against ncnn and OpenVINO (and the GPU engine when one is chosen).
    private func compareEngines(_ network: Network, files: ModelFiles) throws {
        let precisions = precision.map { [$0] } ?? CPUEngine.fastPrecisions
        let engines = try precisions.map {
            try CPUEngine(network: network, options: EngineOptions(threads: threads, precision: $0))
        }
        let input = try benchmarkInput(size)
        let scale = try network.scaleFactor()
        let outputMegapixels = Double(size * size * scale * scale) / 1e6
        print("model \(model), input \(size)x\(size), \(threads) threads, CPU: \(CPUInstructionSet.name)")

        let firstHalf = try engines.map { try Benchmark.timeEngine($0, input: input, runs: (runs + 1) / 2) }
        var references: [Benchmark.Timing] = []
        if !noReference {
            let ncnn = try Benchmark.timeNCNN(
                script: try scriptURL("ncnn_reference.py", given: referenceScript),
                param: files.param, bin: files.bin, input: input, threads: threads,
                runs: runs)
            references.append(Benchmark.Timing(label: "ncnn \(ncnn.version) fp32", runs: ncnn.runs))
            if !noOpenVINO {
                for setting in ["default", "f32"] {
                    let run = try Benchmark.timeOpenVINO(
                        script: try scriptURL("openvino_reference.py", given: nil),
                        param: files.param, bin: files.bin, input: input,
                        threads: threads, runs: runs, precision: setting)
                    let ran = run.precision.map { " (ran \($0))" } ?? ""
                    references.append(Benchmark.Timing(label: "OpenVINO \(setting)\(ran)", runs: run.runs))
                }
            }
        }
        let secondHalf = try engines.map { try Benchmark.timeEngine($0, input: input, runs: runs / 2) }
        let ours = engines.indices.map { i in
            Benchmark.Timing(
                label: "upscaler \(engines[i].options.precision.rawValue) (\(Self.kernelName(engines[i])))",
                runs: firstHalf[i] + secondHalf[i])
        }
        var rows = ours + references
        if case .gpu(let gpu) = try ComputeTarget.resolve(try device.choice()) {
            let gpuEngine = try VulkanEngine(network: network, device: gpu.index, precision: gpuPrecision)
            let timing = Benchmark.Timing(
                label: "upscaler \(gpuEngine.precision.rawValue) (Vulkan)",
                runs: try Benchmark.timeEngine(gpuEngine, input: input, runs: runs))
            print("gpu: \(gpu)")
            let a = Benchmark.agreement(try gpuEngine.run(input), try engines[0].run(input))
            print(
                String(
                    format:
                        "GPU %@ against the CPU engine, 8-bit output: max %d levels, %.2f%% identical, PSNR %.1f dB",
                    gpuEngine.precision.rawValue, a.maxLevels, a.identicalFraction * 100, a.psnr))
            print(String(format: "speed-up (CPU engine median / GPU median): %.2fx", ours[0].median / timing.median))
            rows.append(timing)
        }
        print("engine                                  median      min      max   out MP/s")
        for row in rows {
            print(
                row.label.padding(toLength: 36, withPad: " ", startingAt: 0)
                    + String(
                        format: " %7.3f s %7.3f s %7.3f s %8.3f", row.median, row.minimum, row.maximum,
                        outputMegapixels / row.median))
        }
        // Ratios: reference median over ours, so above 1 means we are faster.
        let fastest = ours.min { $0.median < $1.median }!
        for reference in references {
            for mine in Set([ours[0].label, fastest.label]).sorted() {
                let m = ours.first { $0.label == mine }!
                print(String(format: "%@ / %@: %.2fx", reference.label, m.label, reference.median / m.median))
            }
        }
        for engine in engines {
            let counts = Dictionary(grouping: engine.convolutionImplementations, by: { $0 }).mapValues(\.count)
            print(
                "\(engine.options.precision.rawValue) convolution kernels: "
                    + counts.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", "))
        }
        if engines.count > 1 || engines[0].options.precision != .fp32 {
            let exact =
                try engines.first { $0.options.precision == .fp32 }
                ?? CPUEngine(network: network, options: EngineOptions(threads: threads))
            let reference = try exact.run(input)
            for engine in engines where engine.options.precision != .fp32 {
                let a = Benchmark.agreement(try engine.run(input), reference)
                print(
                    String(
                        format: "%@ against fp32, 8-bit output: max %d levels, %.2f%% identical, PSNR %.1f dB",
                        engine.options.precision.rawValue, a.maxLevels, a.identicalFraction * 100, a.psnr))
            }
        }
        for engine in engines where !engine.profile.isEmpty {
            print(
                "\(engine.options.precision.rawValue) profile (all runs): "
                    + engine.profile.sorted { $0.value > $1.value }
                    .map { String(format: "%@ %.3f s", $0.key, $0.value) }.joined(separator: ", "))
        }
        print(
            String(
                format: "activation buffers: %@, peak RSS: %.1f MB",
                engines.map { String(format: "%.1f MB", Double($0.planBytes) / 1e6) }.joined(separator: " + "),
                Double(Benchmark.peakResidentBytes()) / 1e6))
    }

    /// Which kernels ran the 3x3 layers: the engine's own Winograd kernels or oneDNN.
    private static func kernelName(_ engine: CPUEngine) -> String {
        engine.convolutionImplementations.contains { $0.hasPrefix("winograd_4x3") } ? "own Winograd" : "oneDNN"
    }

    /// `64-256:4` (first, last, step) or `128,148,192`.
    static func parseSizes(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ":")
        let range = parts[0].split(separator: "-")
        var sizes: [Int]?
        if range.count == 2, let first = Int(range[0]), let last = Int(range[1]), first <= last {
            let step = parts.count == 2 ? Int(parts[1]) : 1
            if let step, step >= 1, parts.count <= 2 { sizes = Array(stride(from: first, through: last, by: step)) }
        } else if parts.count == 1 {
            let list = text.split(separator: ",").map { Int($0) }
            if list.allSatisfy({ $0 != nil }) { sizes = list.compactMap { $0 } }
        }
        guard let sizes, !sizes.isEmpty, sizes.allSatisfy({ $0 >= 16 }) else {
            throw ValidationError("--sizes takes FIRST-LAST:STEP or a comma-separated list of sizes of at least 16")
        }
        return sizes
    }

    /// The default tiled upscale (`TilingOptions()`: reflection padding and tiles as `upscaler upscale` runs them) of
    /// square inputs of each size: the speed a user sees, which depends on the extents the kernels are given.
    ///
    /// Each of the `runs` passes times every size once, and a size's figure is its median over the passes: on a shared
    /// host a slow minute then lowers one run of every size instead of every run of a few neighbouring sizes.
    private func sweepSizes(_ network: Network, sizes: [Int]) throws {
        let chosen = precision ?? .fp32
        let engine = try CPUEngine(network: network, options: EngineOptions(threads: threads, precision: chosen))
        let scale = try network.scaleFactor()
        print(
            "default tiled upscale with \(model), \(chosen.rawValue), \(threads) threads, pad \(TilingOptions().pad), "
                + "tile \(TilingOptions().tile), \(runs) interleaved passes")
        let inputs = try sizes.map { try benchmarkInput($0) }
        let axes = sizes.map { size in
            Tiler.axes(
                height: size, width: size, options: TilingOptions(), alignment: engine.preferredAlignment,
                phase: network.inputAlignment
            ).rows
        }
        var times = [[Double]](repeating: [], count: sizes.count)
        for pass in 0...runs {
            for (index, input) in inputs.enumerated() {
                // The engine keeps one plan; planning for the next size is not part of its time.
                try engine.prepare(
                    for: Shape(
                        channels: input.channels, height: axes[index].length,
                        width: axes[index].length))
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try Tiler.upscale(input, scale: scale, engine: engine, options: TilingOptions())
                // Pass 0 warms every shape up and is not timed.
                if pass > 0 { times[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
            }
        }
        print(" size  tiles  median s  out MP/s  computed MP/s")
        var speeds: [(Int, Double)] = [], computedSpeeds: [(Int, Double)] = []
        for (index, size) in sizes.enumerated() {
            let median = times[index].sorted()[times[index].count / 2]
            let speed = Double(size * size * scale * scale) / 1e6 / median
            speeds.append((size, speed))
            // What the engine computed: every tile whole, padding and overlaps included.
            let axis = axes[index]
            let computed =
                Double(axis.starts.count * axis.length * scale) * Double(axis.starts.count * axis.length * scale)
            computedSpeeds.append((size, computed / 1e6 / median))
            print(
                String(
                    format: "%5d %6d %9.3f %9.3f %14.3f", size, axis.starts.count * axis.starts.count, median, speed,
                    computed / 1e6 / median))
        }
        for (what, list) in [("out", speeds), ("computed", computedSpeeds)] {
            let slowest = list.min { $0.1 < $1.1 }!, fastest = list.max { $0.1 < $1.1 }!
            print(
                String(
                    format: "%@ MP/s: slowest %d px %.3f, fastest %d px %.3f, slowest/fastest %.2f", what,
                    slowest.0, slowest.1, fastest.0, fastest.1, slowest.1 / fastest.1))
        }
    }

    /// Times the tiled upscale of a `size`-pixel square image for each tile size; smallest tiles first, since peak RSS
    /// only grows.
    private func sweepTiles(_ network: Network, sizes: [Int]) throws {
        let input = try benchmarkInput(size)
        let scale = try network.scaleFactor()
        let overlapList = overlaps?.split(separator: ",").compactMap { Int($0) } ?? [TilingOptions().overlap]
        var untiled: Tensor?
        if overlaps != nil {
            let whole = try CPUEngine(
                network: network, options: EngineOptions(threads: threads, precision: precision ?? .fp32))
            let pad = TilingOptions().pad
            untiled = try Tiler.upscale(
                input, scale: scale, engine: whole,
                options: TilingOptions(tile: size + 2 * pad, overlap: 0, pad: pad))
        }
        print("tiled upscale of \(size)x\(size) with \(model), \(threads) threads, pad \(TilingOptions().pad)")
        print(" tile overlap tiles   median s  out MP/s  buffers MB  peak RSS MB  PSNR vs untiled")
        for tile in sizes.sorted() {
            for overlap in overlapList {
                let engine = try CPUEngine(
                    network: network, options: EngineOptions(threads: threads, precision: precision ?? .fp32))
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
                print(
                    String(
                        format: "%5d %7d %5d %10.2f %9.3f %11.1f %12.1f  ", tile, overlap,
                        Tiler.tileCount(
                            height: size, width: size, options: options, alignment: engine.preferredAlignment,
                            phase: network.inputAlignment), median,
                        megapixels / median,
                        Double(engine.planBytes) / 1e6, Double(Benchmark.peakResidentBytes()) / 1e6) + psnr)
            }
        }
    }

    /// A centred `size` crop of `--image`, or the synthetic photo-like input.
    private func benchmarkInput(_ size: Int) throws -> Tensor {
        guard let image else { return Benchmark.syntheticImage(height: size, width: size) }
        try Imaging.initialize()
        let decoded = try Imaging.decode(file: image, limits: .default)
        guard decoded.width >= size, decoded.height >= size else { throw fail("\(image) is smaller than \(size) px") }
        return Tensor(decoded).centreCrop(size)
    }

    /// `tools/NAME`, unless `given`: found from the working directory or any folder above the executable.
    private func scriptURL(_ name: String, given: String?) throws -> URL {
        if let given { return URL(fileURLWithPath: given) }
        // `.build/release` is a symlink into `.build/<triple>/release`, so the repository root is not a fixed number
        // of levels up.
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        while folder.path != "/" {
            candidates.append(folder)
            folder.deleteLastPathComponent()
        }
        let script = "tools/" + name
        guard
            let found = candidates.map({ $0.appendingPathComponent(script) })
                .first(where: { FileManager.default.fileExists(atPath: $0.path) })
        else {
            throw UpscaleError(
                .invalidOption, "cannot find \(script); run from the repository or pass --reference-script")
        }
        return found
    }
}
