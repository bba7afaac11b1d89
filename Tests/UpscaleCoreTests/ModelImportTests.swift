import Benchmarks
import Foundation
import Inference
import InferenceCPU
import InferenceVulkan
import ModelFormats
import TestSupport
import Testing
import UpscaleCore

/// `models import`: PyTorch and safetensors files of the shipped networks, written by an independent Python tool
/// (tools/export_torch_weights.py: numpy and Python's own pickle, upstream key names, torch.save's layout), read back,
/// detected, converted and run, against the ncnn package running the original ncnn files.
@Suite("Importing PyTorch and safetensors models", .serialized)
struct ModelImportTests {
    struct Case: Sendable, CustomStringConvertible {
        var model: String
        var format: String
        var arguments: [String] = []
        var description: String { "\(model) .\(format) \(arguments.joined(separator: " "))" }
    }

    static let tool = PipelineFixtures.repositoryRoot.appendingPathComponent("tools/export_torch_weights.py")

    /// A scratch models folder and a folder for the exported files, removed afterwards.
    static func scratch() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// tools/onnx_reference.py's output for `input` on the network in `weights` (.safetensors or .npz).
    static func onnxReference(weights: URL, _ input: Tensor) throws -> [Float] {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let inFile = folder.appendingPathComponent("in.f32"), outFile = folder.appendingPathComponent("out.f32")
        try input.data.withUnsafeBytes { try Data($0).write(to: inFile) }
        _ = try Benchmark.runPython(
            script: PipelineFixtures.repositoryRoot.appendingPathComponent("tools/onnx_reference.py"),
            arguments: [
                "run", "--weights", weights.path, "--input", inFile.path, "--channels", "\(input.channels)",
                "--height", "\(input.height)", "--width", "\(input.width)", "--output", outFile.path,
            ])
        return try Data(contentsOf: outFile).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func export(_ c: Case, to folder: URL) throws -> URL {
        let files = try FidelityTests.store.locate(c.model)
        let out = folder.appendingPathComponent("\(c.model).\(c.format)")
        _ = try Benchmark.runPython(
            script: tool,
            arguments: [
                "export", "--param", files.param.path, "--bin", files.bin.path, "--out", out.path, "--format", c.format,
            ] + c.arguments)
        return out
    }

    @Test(arguments: [
        Case(model: "realesr-animevideov3", format: "safetensors"),
        Case(model: "realesr-animevideov3", format: "pth"),
        Case(model: "realesrgan-x4plus", format: "pth", arguments: ["--wrap", "params_ema"]),
        Case(model: "realesrgan-x4plus", format: "pth", arguments: ["--layout", "old"]),
        Case(model: "realesrgan-x4plus", format: "safetensors", arguments: ["--dtype", "fp16"]),
    ])
    func importedModelsMatchNCNN(_ c: Case) throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try Self.export(c, to: folder)
        let store = ModelStore(directory: folder.appendingPathComponent("models"))
        let imported = try store.importWeights(from: file, name: "imported")
        let expected: ModelArchitecture =
            c.model == "realesrgan-x4plus"
            ? .rrdbNet(blocks: 23, features: 64, growth: 32, scale: 4)
            : .srvggNetCompact(convolutions: 16, features: 64, scale: 4, activation: .prelu)
        #expect(imported.architecture == expected)
        let listed = try #require(store.list().first { $0.name == "imported" })
        #expect(listed.installed && listed.nativeScale == 4 && listed.summary.contains(expected.family))
        let checks = store.verify().filter { $0.model == "imported" }
        #expect(checks.count == 2 && checks.allSatisfy { $0.isOK })

        let files = try store.locate("imported")
        let engine = try CPUEngine(
            network: try Network(paramFile: files.param, binFile: files.bin), options: EngineOptions(threads: 2))
        let input = try FidelityTests.crop("coffee.png", size: c.model == "realesrgan-x4plus" ? 32 : 64)
        let ours = try FidelityTests.untiled(input, engine, pad: 0)
        let theirs = try FidelityTests.ncnn(c.model, input, pad: 0, alignment: engine.preferredAlignment)
        FidelityTests.expectWithinOneLevel(ours, theirs)
    }

    /// Files that lie about themselves, or ask the unpickler to run something: one clear error each, nothing
    /// installed, and `models import` prints one line and exits 1.
    @Test func malformedFilesAreRefused() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bad = folder.appendingPathComponent("bad")
        _ = try Benchmark.runPython(script: Self.tool, arguments: ["malformed", "--out-dir", bad.path])
        let expectations = [
            "os-system.pth": "asks for os.system",
            "posix-system.pth": "asks for posix.system",
            "nested-pickle.pth": "asks for pickle.loads",
            "lying-size.pth": "declares 1728 values but holds 64 bytes",
            "lying-numel.pth": "needs 1728 values",
            "truncated.pth": "zip",
            "header-overrun.safetensors": "more than the file holds",
            "offsets-overrun.safetensors": "outside the file",
            "shape-mismatch.safetensors": "has shape",
            "duplicate-names.safetensors": "twice",
            "unknown-arch.safetensors": "not a network this engine knows",
        ]
        let models = folder.appendingPathComponent("models")
        let store = ModelStore(directory: models)
        for (name, phrase) in expectations.sorted(by: { $0.key < $1.key }) {
            let file = bad.appendingPathComponent(name)
            #expect(FileManager.default.fileExists(atPath: file.path), "the tool wrote no \(name)")
            do {
                try store.importWeights(from: file, name: "bad")
                Issue.record("\(name) was imported")
            } catch let error as ModelStoreError {
                #expect(error.message.contains(phrase), "\(name): \(error.message)")
                #expect(!error.message.contains("\n"), "\(name): more than one line")
            }
            let cli = try runUpscaler(["models", "import", file.path, "--models-dir", models.path])
            #expect(cli.status == 1 && cli.stderrLines.count == 1, "\(name): \(cli.status) \(cli.stderr)")
        }
        #expect(store.list().allSatisfy { $0.name != "bad" })
    }

    /// Seeded random networks of the variants the shipped files do not cover (RRDBNet at 2x and 1x, which unshuffle
    /// their input, and a small SRVGGNetCompact with PReLU), imported and run by the CPU engine and by the Vulkan engine
    /// in fp32 (lavapipe here), against ONNX Runtime on a graph tools/onnx_reference.py builds from the same file after
    /// upstream's definitions: within 1e-4.
    @Test(arguments: [
        ["random-rrdb", "--scale", "2", "--num-block", "2", "--num-feat", "16", "--num-grow", "8", "--seed", "7"],
        ["random-rrdb", "--scale", "1", "--num-block", "2", "--num-feat", "16", "--num-grow", "8", "--seed", "8"],
        ["random-srvgg", "--num-conv", "4", "--num-feat", "16", "--upscale", "4", "--seed", "5", "--format", "pth"],
    ])
    func randomNetworksMatchONNXRuntime(_ arguments: [String]) throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let isPTH = arguments.contains("pth")
        let file = folder.appendingPathComponent("random." + (isPTH ? "pth" : "safetensors"))
        _ = try Benchmark.runPython(script: Self.tool, arguments: arguments + ["--out", file.path])
        let store = ModelStore(directory: folder.appendingPathComponent("models"))
        let imported = try store.importWeights(from: file, name: "random")
        let files = try store.locate("random")
        let network = try Network(paramFile: files.param, binFile: files.bin)
        #expect(try network.scaleFactor() == imported.architecture.scale)

        var random = SeededRandom(seed: 99)
        let input = random.tensor(3, 20, 24, 0, 1)
        // The reference reads the weights from the file's .npz twin for .pth (it parses safetensors itself).
        let theirs = try Self.onnxReference(weights: isPTH ? URL(fileURLWithPath: file.path + ".npz") : file, input)

        let cpu = try CPUEngine(network: network, options: EngineOptions(threads: 2)).run(input)
        let device = try #require(try VulkanDevices.resolve(.gpu(nil), among: try VulkanDevices.list()))
        let gpu = try VulkanEngine(network: network, device: device.index, precision: .fp32).run(input)
        for (engine, ours) in [("cpu", cpu), ("vulkan", gpu)] {
            #expect(
                ours.data.count == theirs.count, "\(engine): \(ours.data.count) values, ONNX Runtime \(theirs.count)")
            let worst = zip(ours.data, theirs).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4, "\(engine): max difference \(worst)")
        }
    }
}
