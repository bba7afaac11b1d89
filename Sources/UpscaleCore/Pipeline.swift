public import Foundation
public import Imaging
public import Inference

/// Where a run is, for progress bars and (later) job status.
public struct PipelineProgress: Sendable {
    /// The named step running now.
    public let step: String
    /// Overall fraction done, 0...1 (tiles dominate, so it follows them).
    public let fraction: Double
    /// Tile counters while the `infer` step runs.
    public let tile: TileProgress?
}

/// What an upscale produced.
public struct UpscaleResult: Sendable {
    public let inputWidth: Int
    public let inputHeight: Int
    public let outputWidth: Int
    public let outputHeight: Int
    public let format: ImageFormat
    public let model: String
    /// Seconds per named step, in order.
    public let timings: [(step: String, seconds: Double)]
}

/// The upscaling pipeline: one ordered list of named steps over a shared state, with a cancellation check
/// between steps and between tiles.
///
/// `decode` (limits checked on the header first) → `infer` (reflection pad, tiles, blend) → `outscale` (Lanczos, only
/// when the requested scale differs from the model's) → `encode`.
/// An `Upscaler` keeps one engine per model, so repeated runs reuse the loaded weights and the execution plan.
public final class Upscaler {
    public let store: ModelStore
    private var engines: [String: (engine: InferenceEngine, scale: Int, options: EngineOptions)] = [:]

    public init(store: ModelStore) throws {
        self.store = store
        try Imaging.initialize()
    }

    /// Upscales an encoded image held in memory and returns the encoded result.
    public func upscale(data: [UInt8], options: UpscaleOptions, isCancelled: () -> Bool = { false },
                        progress: (PipelineProgress) -> Void = { _ in }) throws -> (bytes: [UInt8], result: UpscaleResult) {
        var state = State(source: .bytes(data), options: options)
        let result = try run(&state, isCancelled: isCancelled, progress: progress)
        return (state.encoded, result)
    }

    /// Upscales an image file into `output`. The output is written atomically: it either appears whole or not at all.
    public func upscale(file input: String, to output: String, options: UpscaleOptions,
                        isCancelled: () -> Bool = { false },
                        progress: (PipelineProgress) -> Void = { _ in }) throws -> UpscaleResult {
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
        var inputSize = (width: 0, height: 0)
        var modelScale = 1
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
        Step(name: "outscale", weight: 0.02) { upscaler, state, _, _ in try upscaler.outscale(&state) },
        Step(name: "encode", weight: 0.05) { upscaler, state, _, _ in try upscaler.encode(&state) },
    ]

    private func run(_ state: inout State, isCancelled: () -> Bool,
                     progress: (PipelineProgress) -> Void) throws -> UpscaleResult {
        do {
            try state.options.validate()
            var timings: [(String, Double)] = []
            var done = 0.0
            for step in Self.steps {
                if isCancelled() { throw UpscaleError(.cancelled, "cancelled before \(step.name)") }
                progress(PipelineProgress(step: step.name, fraction: done, tile: nil))
                let started = Date()
                try step.body(self, &state, { inner in
                    progress(PipelineProgress(step: inner.step, fraction: done + step.weight * inner.fraction, tile: inner.tile))
                }, isCancelled)
                timings.append((step.name, Date().timeIntervalSince(started)))
                done += step.weight
            }
            progress(PipelineProgress(step: "done", fraction: 1, tile: nil))
            return UpscaleResult(inputWidth: state.inputSize.width, inputHeight: state.inputSize.height,
                                 outputWidth: state.image.width, outputHeight: state.image.height,
                                 format: state.options.format ?? .png, model: state.options.model, timings: timings)
        } catch {
            throw UpscaleError(error, modelName: state.options.model)
        }
    }

    private func decode(_ state: inout State) throws {
        switch state.source {
        case .bytes(let data): state.image = try Imaging.decode(data: data, limits: state.options.limits)
        case .file(let path): state.image = try Imaging.decode(file: path, limits: state.options.limits)
        }
        state.inputSize = (state.image.width, state.image.height)
        // Refuse early when the catalogue knows the model's scale; `infer` checks again with the loaded network's.
        if let native = ModelCatalog.named(state.options.model)?.nativeScale {
            state.modelScale = native
            try checkOutputSize(state)
        }
    }

    /// Checked once the model's real scale is known and before any tile runs: the model's own output (the larger of
    /// it and the requested size) must fit the limit, since that is what the tiler assembles.
    private func checkOutputSize(_ state: State) throws {
        let target = outputSize(state)
        let modelOutput = (state.inputSize.width * state.modelScale, state.inputSize.height * state.modelScale)
        let largest = max(target.width, target.height, modelOutput.0, modelOutput.1)
        guard largest <= Self.maxOutputSide else {
            throw UpscaleError(.tooLarge, "output would be \(max(target.width, modelOutput.0))x\(max(target.height, modelOutput.1)); "
                + "the limit is \(Self.maxOutputSide) px per side")
        }
    }

    /// Largest output edge; beyond it encoders and viewers struggle and memory for the result grows past reason.
    public static let maxOutputSide = 16384

    private func infer(_ state: inout State, progress: (PipelineProgress) -> Void, isCancelled: () -> Bool) throws {
        let (engine, scale) = try engine(for: state.options)
        state.modelScale = scale
        guard Double(scale) >= (state.options.scale ?? Double(scale)) else {
            throw UpscaleError(.invalidOption, "scale \(state.options.scale!) is above \(state.options.model)'s native \(scale)x")
        }
        try checkOutputSize(state)
        let input = Tensor(state.image)
        state.image.pixels = []  // the tensor owns the pixels now; avoid holding two copies
        let output = try Tiler.upscale(input, scale: scale, engine: engine, options: state.options.tiling) { tile in
            if isCancelled() { throw UpscaleError(.cancelled, "cancelled after tile \(tile.completed) of \(tile.total)") }
            progress(PipelineProgress(step: "infer", fraction: Double(tile.completed) / Double(tile.total), tile: tile))
        }
        state.image = RGBImage(output)
    }

    private func outputSize(_ state: State) -> (width: Int, height: Int) {
        guard let scale = state.options.scale else {
            return (state.inputSize.width * state.modelScale, state.inputSize.height * state.modelScale)
        }
        return (max(1, Int((Double(state.inputSize.width) * scale).rounded())),
                max(1, Int((Double(state.inputSize.height) * scale).rounded())))
    }

    private func outscale(_ state: inout State) throws {
        guard state.options.scale != nil else { return }
        let target = outputSize(state)
        guard target.width != state.image.width || target.height != state.image.height else { return }
        state.image = try Imaging.resize(state.image, width: target.width, height: target.height)
    }

    private func encode(_ state: inout State) throws {
        state.encoded = try Imaging.encode(state.image, format: state.options.format ?? .png, quality: state.options.quality)
    }

    // MARK: - Engines

    /// Loads the model these options name, so a missing, corrupt or unsupported model is reported before any image
    /// is read (and once for a batch, not once per image).
    public func prepare(_ options: UpscaleOptions) throws {
        do {
            _ = try engine(for: options)
        } catch {
            throw UpscaleError(error, modelName: options.model)
        }
    }

    private func engine(for options: UpscaleOptions) throws -> (InferenceEngine, Int) {
        let engineOptions = EngineOptions(threads: options.threads, precision: options.precision)
        if let cached = engines[options.model], cached.options.threads == engineOptions.threads,
           cached.options.precision == engineOptions.precision {
            return (cached.engine, cached.scale)
        }
        let files = try store.locate(options.model)
        let network = try Network(paramFile: files.param, binFile: files.bin)
        let scale = try network.scaleFactor()
        engines[options.model] = nil
        let engine = try InferenceEngine(network: network, options: engineOptions)
        engines[options.model] = (engine, scale, engineOptions)
        return (engine, scale)
    }
}
