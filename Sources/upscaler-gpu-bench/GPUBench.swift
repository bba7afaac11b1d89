import Foundation
import Inference
import InferenceVulkan

/// Runs one model on the GPU from a raw tensor and prints its timings as one JSON line.
///
/// It is what scripts/gpu-check.sh carries to a GPU machine that has none of this project's packages, so it parses
/// its own few flags instead of linking the CLI's argument parser, and reads and writes raw little-endian float32 CHW.
@main
struct GPUBench {
    static let usage = """
        usage: upscaler-gpu-bench --param P.param --bin B.bin --size S [--input IN.f32] [--output OUT.f32]
                                  [--precision fp16|fp32] [--device gpu|gpu:N] [--runs 5] [--warmup 1] [--tile T]
               upscaler-gpu-bench --devices
        Without --input, the input is seeded noise. --tile runs the image in tiles of T input pixels (as the service
        does); without it the whole image is one tile.
        """

    static func main() {
        do {
            try run(Array(CommandLine.arguments.dropFirst()))
        } catch let error as InferenceError {
            fail(error.message)
        } catch {
            fail("\(error)")
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("upscaler-gpu-bench: \(message)\n".utf8))
        exit(1)
    }

    static func run(_ arguments: [String]) throws {
        var options: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let key = arguments[index]
            if key == "--devices" || key == "--help" {
                options[key] = ""
                index += 1
                continue
            }
            guard key.hasPrefix("--"), index + 1 < arguments.count else {
                fail("unexpected argument '\(key)'\n\(usage)")
            }
            options[String(key.dropFirst(2))] = arguments[index + 1]
            index += 2
        }
        if options["--help"] != nil { print(usage); return }
        if options["--devices"] != nil {
            for device in try VulkanDevices.list() { print(device) }
            return
        }
        guard let param = options["param"], let bin = options["bin"], let size = options["size"].flatMap(Int.init),
            size > 0
        else { fail("--param, --bin and --size are required\n\(usage)") }
        let runs = options["runs"].flatMap(Int.init) ?? 5
        let warmup = options["warmup"].flatMap(Int.init) ?? 1
        guard let choice = DeviceChoice(options["device"] ?? "gpu"), choice != .cpu, choice != .auto else {
            fail("--device must be gpu or gpu:N")
        }
        let precision: Precision? = options["precision"].map {
            guard let p = Precision(rawValue: $0), p != .bf16 else { fail("--precision must be fp16 or fp32") }
            return p
        }
        let network = try Network(paramFile: URL(fileURLWithPath: param), binFile: URL(fileURLWithPath: bin))
        let scale = try network.scaleFactor()
        let input: Tensor
        if let path = options["input"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let count = 3 * size * size
            guard data.count == count * 4 else {
                fail("\(path) holds \(data.count) bytes, expected \(count * 4) (3x\(size)x\(size) float32)")
            }
            input = Tensor(
                channels: 3, height: size, width: size,
                data: data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
        } else {
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            input = Tensor(
                channels: 3, height: size, width: size,
                data: (0..<(3 * size * size)).map { _ in
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    return Float(state >> 40) / Float(1 << 24)
                })
        }
        guard let device = try VulkanDevices.resolve(choice, among: try VulkanDevices.list()) else {
            fail("no GPU chosen")
        }
        let loadStart = Date()
        let engine = try VulkanEngine(network: network, device: device.index, precision: precision)
        let tile = options["tile"].flatMap(Int.init) ?? size
        let tiling = TilingOptions(tile: tile, overlap: tile >= size ? 0 : min(32, tile / 4), pad: 0)
        func once() throws -> Tensor {
            try Tiler.upscale(input, scale: scale, engine: engine, options: tiling)
        }
        var output = try once()
        let firstRun = Date().timeIntervalSince(loadStart)
        for _ in 1..<max(1, warmup) { output = try once() }
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let started = Date()
            output = try once()
            times.append(Date().timeIntervalSince(started))
        }
        if let path = options["output"] {
            let clamped = output.data.map { min(max($0, 0), 1) }
            try clamped.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path))
        }
        let median = times.sorted()[times.count / 2]
        let runsText = times.map { String(format: "%.4f", $0) }.joined(separator: ",")
        print(
            """
            {"engine":"upscaler-vulkan","precision":"\(engine.precision.rawValue)","size":\(size),"tile":\(tile),\
            "runs":[\(runsText)],"median":\(String(format: "%.4f", median)),\
            "first_run_with_setup":\(String(format: "%.3f", firstRun)),"device":"\(device.name)"}
            """)
    }
}
