public import Foundation
public import Inference
import UpscaleCore

/// Times our engine against the independent ncnn engine on the same input, in one invocation.
///
/// Two-thread timings drift by tens of percent between runs, so the comparison only means something inside one
/// process lifetime: our runs are split before and after the ncnn runs, and medians are reported.
public enum Benchmark {
    public struct Timing: Sendable {
        public let label: String
        public let runs: [Double]

        public init(label: String, runs: [Double]) {
            self.label = label
            self.runs = runs
        }
        public var median: Double { runs.sorted()[runs.count / 2] }
        public var minimum: Double { runs.min() ?? 0 }
        public var maximum: Double { runs.max() ?? 0 }
    }

    /// A deterministic, photo-like test input in [0, 1]: smooth gradients, edges and mild noise.
    public static func syntheticImage(height: Int, width: Int, seed: UInt64 = 42) -> Tensor {
        var state = seed
        func noise() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) - 0.5
        }
        var t = Tensor(channels: 3, height: height, width: width)
        for c in 0..<3 {
            for y in 0..<height {
                for x in 0..<width {
                    let fx = Float(x) / Float(width), fy = Float(y) / Float(height)
                    var v = 0.5 + 0.3 * sin(6 * fx + Float(c)) * cos(4 * fy)
                    if (x / 16 + y / 16) % 2 == 0 { v += 0.15 }
                    t[c, y, x] = min(max(v + 0.04 * noise(), 0), 1)
                }
            }
        }
        return t
    }

    /// Runs our engine `runs` times after one warm-up (which includes planning) and returns the wall times.
    public static func timeEngine(_ engine: any NetworkRunner, input: Tensor, runs: Int) throws -> [Double] {
        _ = try engine.run(input)
        return try (0..<runs).map { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try engine.run(input)
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }

    public struct ReferenceRun: Sendable {
        public let runs: [Double]
        /// The engine's version, e.g. ncnn's `1.0.20261020` or OpenVINO's build string.
        public let version: String
        /// The precision the engine reported running at (OpenVINO's settled `INFERENCE_PRECISION_HINT`), if it says.
        public let precision: String?
    }

    /// Runs `tools/ncnn_reference.py bench` on the same input and parses its JSON line.
    public static func timeNCNN(
        script: URL, param: URL, bin: URL, input: Tensor, threads: Int,
        runs: Int
    ) throws -> ReferenceRun {
        try timeReference(
            script: script, versionKey: "ncnn_version", param: param, bin: bin, input: input,
            threads: threads, runs: runs)
    }

    /// Runs `tools/openvino_reference.py bench` with OpenVINO's `default` settings or `f32` on the same input.
    public static func timeOpenVINO(
        script: URL, param: URL, bin: URL, input: Tensor, threads: Int, runs: Int,
        precision: String
    ) throws -> ReferenceRun {
        try timeReference(
            script: script, versionKey: "openvino_version", param: param, bin: bin, input: input,
            threads: threads, runs: runs, extra: ["--precision", precision])
    }

    private static func timeReference(
        script: URL, versionKey: String, param: URL, bin: URL, input: Tensor,
        threads: Int, runs: Int, extra: [String] = []
    ) throws -> ReferenceRun {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "upscaler-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputFile = directory.appendingPathComponent("input.f32")
        try input.data.withUnsafeBytes { try Data($0).write(to: inputFile) }
        let output = try runPython(
            script: script,
            arguments: [
                "bench", "--param", param.path, "--bin", bin.path, "--input", inputFile.path,
                "--channels", "\(input.channels)", "--height", "\(input.height)", "--width", "\(input.width)",
                "--threads", "\(threads)", "--runs", "\(runs)", "--warmup", "1",
            ] + extra)
        guard let line = output.split(separator: "\n").last,
            let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let times = json["runs"] as? [Double]
        else {
            throw UpscaleError(.internalFailure, "could not read \(script.lastPathComponent)'s output", detail: output)
        }
        return ReferenceRun(
            runs: times, version: json[versionKey] as? String ?? "?",
            precision: json["execution_precision"] as? String)
    }

    /// Runs a Python helper script and returns its standard output; a non-zero exit is an error with its stderr.
    public static func runPython(script: URL, arguments: [String]) throws -> String {
        let outcome = try Subprocess.run("/usr/bin/env", ["python3", script.path] + arguments)
        guard outcome.status == 0 && !outcome.signalled else {
            throw UpscaleError(.internalFailure, "\(script.lastPathComponent) failed", detail: outcome.stderr)
        }
        return outcome.stdout
    }

    /// How far one output is from another once both are quantised to 8 bits the way images are written.
    public struct Agreement: Sendable {
        public let maxLevels: Int
        public let identicalFraction: Double
        public let psnr: Double
    }

    public static func agreement(_ a: Tensor, _ b: Tensor) -> Agreement {
        precondition(a.shape == b.shape)
        func level(_ v: Float) -> Int { Int((min(max(v, 0), 1) * 255 + 0.5).rounded(.down)) }
        var maxLevels = 0, identical = 0
        var squared = 0.0
        for i in 0..<a.data.count {
            let d = abs(level(a.data[i]) - level(b.data[i]))
            maxLevels = max(maxLevels, d)
            if d == 0 { identical += 1 }
            squared += Double(d * d)
        }
        let mse = squared / Double(a.data.count)
        return Agreement(
            maxLevels: maxLevels, identicalFraction: Double(identical) / Double(a.data.count),
            psnr: mse == 0 ? .infinity : 10 * log10(255 * 255 / mse))
    }

    /// Peak resident memory of this process so far, in bytes.
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }
}
