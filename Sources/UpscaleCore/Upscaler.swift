import Foundation
import Imaging
public import Inference
import InferenceCPU
import InferenceVulkan

/// The upscaling pipeline: one ordered list of named steps over a shared state, with a cancellation check
/// between steps and between tiles.
///
/// `decode` (limits checked on the header first) → `infer` (reflection pad, tiles, blend) → `outscale` (Lanczos, only
/// when the requested scale differs from the model's) → `encode`.
/// An `Upscaler` keeps one engine per model, so repeated runs reuse the loaded weights and the execution plan.
public final class Upscaler {
    public let store: ModelStore
    /// One loaded engine per model; a change of device, precision or threads replaces it.
    private var engines: [String: LoadedModel] = [:]
    /// `--device` resolved once per choice: listing Vulkan devices opens the driver.
    private var targets: [DeviceChoice: ComputeTarget] = [:]

    public init(store: ModelStore) throws {
        self.store = store
        try Imaging.initialize()
    }

    /// Upscales an encoded image held in memory and returns the encoded result.
    public func upscale(
        data: [UInt8], options: UpscaleOptions, isCancelled: () -> Bool = { false },
        progress: (PipelineProgress) -> Void = { _ in }
    ) throws -> (bytes: [UInt8], result: UpscaleResult) {
        var state = State(source: .bytes(data), options: options)
        let result = try run(&state, isCancelled: isCancelled, progress: progress)
        return (state.encoded, result)
    }

    /// Upscales an image file into `output`. The output is written atomically: it either appears whole or not at all.
    public func upscale(
        file input: String, to output: String, options: UpscaleOptions,
        isCancelled: () -> Bool = { false },
        progress: (PipelineProgress) -> Void = { _ in }
    ) throws -> UpscaleResult {
        var options = options
        if options.format == nil {
            options.format = ImageFormat(name: URL(fileURLWithPath: output).pathExtension) ?? .png
        }
        var state = State(source: .file(input), options: options)
        let result = try run(&state, isCancelled: isCancelled, progress: progress)
        do {
            try Imaging.writeAtomically(state.encoded, to: output)
        } catch {
            throw UpscaleError(error)
        }
        return result
    }

    // MARK: - Steps

    struct State {
        enum Source { case bytes([UInt8]), file(String) }
        let source: Source
        var options: UpscaleOptions
        var image = RGBImage(width: 0, height: 0, pixels: [])
        var header: ImageHeader?
        /// The decoded, upright size, before any shrinking to `maxInputSide`.
        var originalSize = (width: 0, height: 0)
        /// The size the model starts from.
        var inputSize = (width: 0, height: 0)
        var warnings: [String] = []
        /// The source had one colour band (gray, or gray with alpha): the output is written gray too.
        var sourceIsGray = false
        /// The source's alpha plane at input size, set aside while the model runs on colour.
        var sourceAlpha: [Float]?
        /// The alpha plane at the colour's size after `infer`, when the model enlarged it (`AlphaUpsampler.model`).
        var modelAlpha: [Float]?
        /// What the model's last pass makes, before any shrink to the target.
        var modelSize = (width: 0, height: 0)
        var modelScale = 1
        /// Where the model ran (set by `infer`).
        var device = "cpu"
        var encoded: [UInt8] = []
    }

    struct Step: Sendable {
        let name: String
        /// Share of the progress bar; the tiles of `infer` dominate.
        let weight: Double
        let body: @Sendable (Upscaler, inout State, (PipelineProgress) -> Void, () -> Bool) throws -> Void
    }

    static let steps: [Step] = [
        Step(name: "decode", weight: 0.03) { upscaler, state, _, _ in try upscaler.decode(&state) },
        Step(name: "infer", weight: 0.9) { upscaler, state, progress, cancelled in
            try upscaler.infer(&state, progress: progress, isCancelled: cancelled)
        },
        Step(name: "alpha", weight: 0.01) { upscaler, state, _, _ in try upscaler.alpha(&state) },
        Step(name: "outscale", weight: 0.02) { upscaler, state, _, _ in try upscaler.outscale(&state) },
        Step(name: "encode", weight: 0.05) { upscaler, state, _, _ in try upscaler.encode(&state) },
    ]

    private func run(
        _ state: inout State, isCancelled: () -> Bool,
        progress: (PipelineProgress) -> Void
    ) throws -> UpscaleResult {
        do {
            try state.options.validate()
            var timings: [(String, Double)] = []
            var done = 0.0
            for step in Self.steps {
                if isCancelled() { throw UpscaleError(.cancelled, "cancelled before \(step.name)") }
                progress(PipelineProgress(step: step.name, fraction: done, tile: nil))
                let started = Date()
                try step.body(
                    self, &state,
                    { inner in
                        progress(
                            PipelineProgress(
                                step: inner.step, fraction: done + step.weight * inner.fraction, tile: inner.tile))
                    }, isCancelled)
                timings.append((step.name, Date().timeIntervalSince(started)))
                done += step.weight
            }
            progress(PipelineProgress(step: "done", fraction: 1, tile: nil))
            return UpscaleResult(
                inputWidth: state.originalSize.width, inputHeight: state.originalSize.height,
                outputWidth: state.image.width, outputHeight: state.image.height,
                format: state.options.format ?? .png, model: state.options.model,
                device: state.device, timings: timings,
                warnings: state.warnings)
        } catch {
            throw UpscaleError(error, modelName: state.options.model)
        }
    }

    private func decode(_ state: inout State) throws {
        // The model wants RGB; the source's band count says whether to turn the result back into gray.
        let decoded =
            switch state.source {
            case .bytes(let data): try Imaging.decodeWithHeader(data: data, limits: state.options.limits)
            case .file(let path): try Imaging.decodeWithHeader(file: path, limits: state.options.limits)
            }
        state.header = decoded.header
        state.image = decoded.image
        state.sourceIsGray = decoded.header.bands <= 2
        state.originalSize = (state.image.width, state.image.height)
        state.inputSize = state.originalSize
        // Refuse early when the catalogue knows the model's scale; `infer` checks again with the loaded network's.
        let native = ModelCatalog.named(state.options.model)?.nativeScale
        if let native { state.modelScale = native }
        try shrinkLargeInput(&state)
        if state.image.alpha != nil {
            AlphaBleed.bleed(&state.image)
            state.sourceAlpha = state.image.alpha
            state.image.alpha = nil
        }
        if native != nil { try checkOutputSize(state) }
    }

    /// Shrinks a large input first above 2x (`UpscaleOptions.shrunkInputSize`: Lanczos, alpha too), with a warning.
    private func shrinkLargeInput(_ state: inout State) throws {
        let (width, height) = state.inputSize
        guard
            let size = state.options.shrunkInputSize(width: width, height: height, modelScale: state.modelScale)
        else { return }
        state.image = try Imaging.resize(state.image, width: size.width, height: size.height)
        state.inputSize = size
        state.warnings.append(
            "\(width)x\(height) is longer than \(state.options.maxInputSide ?? 0) px, the input limit above 2x: "
                + "shrunk to \(size.width)x\(size.height) first")
    }

    /// Checked once the model's scale is known and before any tile runs: neither the target nor anything the model
    /// makes on the way (its output is at least the target) may pass the limit.
    private func checkOutputSize(_ state: State) throws {
        let target = outputSize(state)
        let largest = modelPasses(state).map { max($0.width, $0.height) * state.modelScale }.max() ?? 0
        guard max(target.width, target.height, largest) <= Self.maxOutputSide else {
            throw UpscaleError(
                .tooLarge,
                "output would be \(target.width)x\(target.height) (the model makes up to "
                    + "\(largest) px per side on the way); the limit is \(Self.maxOutputSide) px per side")
        }
    }

    /// Frees the plans and buffers the loaded engines keep for the last tile shape (the weights stay): after a job of
    /// an unusual shape, so that its memory does not stay until the next job plans its own.
    public func releaseBuffers() {
        for loaded in engines.values { loaded.runner.releaseBuffers() }
    }

    /// Largest output edge; beyond it encoders and viewers struggle and memory for the result grows past reason.
    public static let maxOutputSide = 16384

    private func infer(_ state: inout State, progress: (PipelineProgress) -> Void, isCancelled: () -> Bool) throws {
        var loaded = try engine(for: state.options)
        state.modelScale = loaded.scale
        try checkOutputSize(state)
        let passes = modelPasses(state)
        let alphaThroughModel = state.sourceAlpha != nil && state.options.alphaUpsampler == .model
        let share = alphaThroughModel ? 0.5 : 1
        let colour = Tensor(state.image)
        state.image.pixels = []  // the tensor owns the pixels now; avoid holding two copies
        let options = state.options
        // The colour is shrunk to the target as it comes; so is alpha, in `alpha` or here through the model.
        let target = outputSize(state)
        state.modelSize = (
            passes[passes.count - 1].width * loaded.scale, passes[passes.count - 1].height * loaded.scale
        )
        func enlarge(_ model: LoadedModel) throws -> Tensor {
            try runModel(
                colour, passes: passes, model: model, options: options, target: target, isCancelled: isCancelled
            ) {
                tile, fraction in
                progress(PipelineProgress(step: "infer", fraction: fraction * share, tile: tile))
            }
        }
        let enlarged: Tensor
        do {
            enlarged = try enlarge(loaded)
        } catch let error as InferenceError
            where loaded.target != .cpu
            && [.deviceLost, .outOfDeviceMemory, .backendFailure].contains(error.code)
        {
            // A lost device is gone for good and an exhausted one may hold stale allocations: the engine is dropped,
            // so the next image opens the device afresh. Only when told to does this image go on on the CPU.
            engines[state.options.model] = nil
            guard state.options.cpuFallback else { throw error }
            state.warnings.append("the GPU failed (\(error.message)); this image ran on the CPU")
            state.options.device = .cpu
            state.options.precision = nil
            loaded = try engine(for: state.options)
            enlarged = try enlarge(loaded)
        }
        state.device = loaded.target.label
        state.image = RGBImage(enlarged)
        if alphaThroughModel, let alpha = state.sourceAlpha {
            // Alpha goes in as a grey image; the model's three outputs are averaged back into one plane.
            let grey = Tensor(
                channels: 3, height: state.inputSize.height, width: state.inputSize.width,
                data: alpha + alpha + alpha)
            let enlarged = try runModel(
                grey, passes: passes, model: loaded, options: state.options, target: target,
                transform: Self.averagedAlpha, isCancelled: isCancelled
            ) { tile, fraction in
                progress(PipelineProgress(step: "infer", fraction: share + fraction * share, tile: tile))
            }
            // Three equal planes, clamped before any shrink; clamped again after it, as a resize of alpha is.
            state.modelAlpha = enlarged.data[0..<(enlarged.width * enlarged.height)].map { min(max($0, 0), 1) }
        }
    }

    /// Runs the model over `image` once per pass, tiled. `progress` gets each finished tile and the fraction done.
    /// With a `target` smaller than the last pass makes (a 4x model asked for 2x), the last pass's rows are shrunk to
    /// it as they come (``RowShrinker``), so its full-size output is never held. `transform` is applied to the last
    /// pass's output before any shrink, pixel by pixel.
    func runModel(
        _ input: Tensor, passes: [(width: Int, height: Int)], model: LoadedModel,
        options: UpscaleOptions, target: (width: Int, height: Int)? = nil, transform: (Tensor) -> Tensor = { $0 },
        isCancelled: () -> Bool, progress: (TileProgress, Double) -> Void
    ) throws -> Tensor {
        var tiling = options.tiling
        if options.autoTile, let tile = model.preferredTile {
            tiling.tile = tile
            tiling.overlap = min(tiling.overlap, tile / 2)
        }
        var image = input
        for (index, pass) in passes.enumerated() {
            if image.width != pass.width || image.height != pass.height {
                image = Tensor(try Imaging.resize(RGBImage(image), width: pass.width, height: pass.height))
            }
            func onTile(_ tile: TileProgress) throws {
                if isCancelled() {
                    throw UpscaleError(.cancelled, "cancelled after tile \(tile.completed) of \(tile.total)")
                }
                progress(tile, (Double(index) + Double(tile.completed) / Double(tile.total)) / Double(passes.count))
            }
            if index == passes.count - 1, image.channels == 3, let target,
                var shrinker = RowShrinker(
                    sourceWidth: pass.width * model.scale, sourceHeight: pass.height * model.scale,
                    width: target.width, height: target.height)
            {
                try Tiler.run(image, scale: model.scale, engine: model.runner, options: tiling, progress: onTile) {
                    try shrinker.add(firstRow: $0, rows: transform($1))
                }
                return shrinker.output
            }
            image = try Tiler.upscale(
                image, scale: model.scale, engine: model.runner, options: tiling, progress: onTile)
        }
        return transform(image)
    }

    /// The input size of each run of the model. One run reaches the native scale; a larger target takes another run,
    /// whose input is first resized (Lanczos) to the target divided by what the remaining runs multiply by. So the
    /// model never makes many more pixels than the target needs: running it twice at full size and shrinking
    /// afterwards would cost four times as much with the 4x models. `outscale` then trims to the exact target.
    private func modelPasses(_ state: State) -> [(width: Int, height: Int)] {
        let target = outputSize(state)
        let native = max(1, state.modelScale)
        let needed = max(
            Double(target.width) / Double(state.inputSize.width),
            Double(target.height) / Double(state.inputSize.height))
        var count = 1, reach = native
        while Double(reach) < needed - 1e-9 && count < 4 && native > 1 {
            count += 1
            reach *= native
        }
        var passes = [(width: state.inputSize.width, height: state.inputSize.height)]
        var factor = reach / native  // what the runs after the next one multiply by
        while native > 1 && factor >= native {  // a 1x model makes one pass
            passes.append(((target.width + factor - 1) / factor, (target.height + factor - 1) / factor))
            factor /= native
        }
        return passes
    }

    private func outputSize(_ state: State) -> (width: Int, height: Int) {
        state.options.outputSize(
            width: state.inputSize.width, height: state.inputSize.height, modelScale: state.modelScale)
    }

    private func outscale(_ state: inout State) throws {
        let target = outputSize(state)
        guard target.width != state.image.width || target.height != state.image.height else { return }
        state.image = try Imaging.resize(state.image, width: target.width, height: target.height)
    }

    /// Writes what the source was: grey stays grey, 16-bit stays 16-bit where the format holds it, metadata and the
    /// colour profile follow the options.
    private func encode(_ state: inout State) throws {
        let options = state.options
        var encoding = EncodeOptions(format: options.format ?? .png, quality: options.quality)
        encoding.pngCompression = options.pngCompression
        encoding.progressive = options.progressive
        encoding.lossless = options.lossless
        encoding.gray = state.sourceIsGray
        encoding.background = options.background
        if let header = state.header {
            encoding.sixteenBit = header.bitDepth == 16
            if !options.stripMetadata { encoding.metadata = header.metadata }
            if let profile = header.metadata.iccProfile {
                encoding.colourProfile = options.keepProfile ? .convert(to: profile) : .sRGB
            }
        }
        state.encoded = try Imaging.encode(state.image, options: encoding)
    }

    // MARK: - Engines

    /// Loads the model these options name, so a missing, corrupt or unsupported model is reported before any image
    /// is read (and once for a batch, not once per image). Returns the device it was loaded on.
    @discardableResult
    public func prepare(_ options: UpscaleOptions) throws -> ComputeTarget {
        do {
            return try engine(for: options).target
        } catch {
            throw UpscaleError(error, modelName: options.model)
        }
    }

    /// The device a choice resolves to on this machine.
    public func target(for choice: DeviceChoice) throws -> ComputeTarget {
        if let known = targets[choice] { return known }
        let resolved = try ComputeTarget.resolve(choice)
        targets[choice] = resolved
        return resolved
    }

    private func engine(for options: UpscaleOptions) throws -> LoadedModel {
        let target = try target(for: options.device)
        let key = LoadedModel.Key(
            target: target, precision: options.precision, threads: options.threads, denoise: options.denoise)
        if let cached = engines[options.model], cached.key == key { return cached }
        let network = try store.network(options.model, denoise: options.denoise)
        let scale = try network.scaleFactor()
        engines[options.model] = nil  // free the old engine's memory before making the new one
        let loaded: LoadedModel
        switch target {
        case .cpu:
            let engine = try CPUEngine(
                network: network,
                options: EngineOptions(threads: options.threads, precision: options.precision ?? .fp32))
            loaded = LoadedModel(runner: engine, scale: scale, key: key, preferredTile: nil)
        case .gpu(let device):
            let engine = try VulkanEngine(network: network, device: device.index, precision: options.precision)
            loaded = LoadedModel(runner: engine, scale: scale, key: key, preferredTile: engine.largestTile())
        }
        engines[options.model] = loaded
        return loaded
    }
}
