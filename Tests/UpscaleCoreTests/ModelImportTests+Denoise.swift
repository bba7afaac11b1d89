import Benchmarks
import Foundation
import Imaging
import Inference
import InferenceCPU
import TestSupport
import Testing
import UpscaleCore

extension ModelImportTests {
    /// `--denoise`: realesr-general-x4v3 blended with realesr-general-wdn-x4v3 (two seeded random SRVGGNetCompact files
    /// under those names) at strength 0.3 runs as the network whose weights tools/export_torch_weights.py blends
    /// itself, run by ONNX Runtime: within 1e-4. Strength 1 is the model alone, to the bit; a model without its
    /// companion is one clear error.
    @Test func denoiseBlendsTheCompanionsWeights() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = ModelStore(directory: folder.appendingPathComponent("models"))
        var npz: [URL] = []
        for (name, seed) in [("realesr-general-x4v3", 5), ("realesr-general-wdn-x4v3", 6)] {
            let file = folder.appendingPathComponent("\(name).safetensors")
            _ = try Benchmark.runPython(
                script: Self.tool,
                arguments: [
                    "random-srvgg", "--num-conv", "4", "--num-feat", "16", "--upscale", "4", "--seed", "\(seed)",
                    "--out", file.path,
                ])
            try store.importWeights(from: file)
            npz.append(URL(fileURLWithPath: file.path + ".npz"))
        }
        #expect(ModelStore.denoiseCompanion(of: "realesr-general-x4v3") == "realesr-general-wdn-x4v3")
        let blended = folder.appendingPathComponent("blended.npz")
        _ = try Benchmark.runPython(
            script: Self.tool,
            arguments: ["blend", "--a", npz[0].path, "--b", npz[1].path, "--weight", "0.3", "--out", blended.path])

        var random = SeededRandom(seed: 31)
        let input = random.tensor(3, 12, 16, 0, 1)
        let theirs = try Self.onnxReference(weights: blended, input)
        func run(_ denoise: Double?) throws -> [Float] {
            let network = try store.network("realesr-general-x4v3", denoise: denoise)
            return try CPUEngine(network: network, options: EngineOptions(threads: 2)).run(input).data
        }
        let ours = try run(0.3)
        #expect(ours.count == theirs.count)
        let worst = zip(ours, theirs).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4, "max difference \(worst)")
        #expect(try run(1) == run(nil))
        #expect(try run(0) != run(nil))

        try FileManager.default.removeItem(at: try store.locate("realesr-general-wdn-x4v3").param)
        do {
            _ = try store.network("realesr-general-x4v3", denoise: 0.5)
            Issue.record("blended without the companion")
        } catch let error as ModelStoreError {
            #expect(error.message.contains("realesr-general-wdn-x4v3, which is not installed"), "\(error.message)")
        }
    }

    /// A 1x model (RRDBNet unshuffling by 4) asked for 2x runs once and is enlarged by the Lanczos step; it used to
    /// plan passes without end.
    @Test func aOneTimesModelRunsOnce() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("x1.safetensors")
        _ = try Benchmark.runPython(
            script: Self.tool,
            arguments: [
                "random-rrdb", "--scale", "1", "--num-block", "1", "--num-feat", "8", "--num-grow", "4", "--seed", "3",
                "--out", file.path,
            ])
        let store = ModelStore(directory: folder.appendingPathComponent("models"))
        try store.importWeights(from: file, name: "one")
        let upscaler = try Upscaler(store: store)
        var options = UpscaleOptions(model: "one", scale: 2, threads: 2)
        options.tiling = TilingOptions(tile: 32, overlap: 8, pad: 4)
        let png = try Imaging.encode(
            RGBImage(width: 21, height: 13, pixels: (0..<(3 * 21 * 13)).map { Float($0 % 97) / 97 }), format: .png,
            quality: 95)
        let (bytes, result) = try upscaler.upscale(data: png, options: options)
        #expect(result.outputWidth == 42 && result.outputHeight == 26)
        #expect(try Imaging.decode(data: bytes, limits: .default).width == 42)
    }
}
