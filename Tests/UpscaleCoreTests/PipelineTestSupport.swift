import Foundation
import Imaging
import Inference
import TestSupport
import Testing
import UpscaleCore

/// Shared set-up for the pipeline and command-line tests: installed models, fixture photos, scratch folders,
/// synthetic images and the `upscaler` executable.
enum PipelineFixtures {
    /// The smallest installed model; every test that runs inference uses it to stay cheap.
    static let model = "realesr-animevideov3"

    /// Where `upscaler models fetch` (scripts/setup.sh) installed the models.
    static let modelsDirectory = ModelStore.defaultDirectory(environment: ProcessInfo.processInfo.environment)

    static var modelInstalled: Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: modelsDirectory.appendingPathComponent("\(model).param").path)
            && fm.fileExists(atPath: modelsDirectory.appendingPathComponent("\(model).bin").path)
    }

    /// `$UPSCALER_FIXTURES`, else `~/.cache/upscaler/fixtures` (astronaut.png, chelsea.png, coffee.png).
    static var photosDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["UPSCALER_FIXTURES"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/upscaler/fixtures")
    }

    static func photo(_ name: String) -> URL { photosDirectory.appendingPathComponent(name) }

    /// The repository root, two folders above this file's folder.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `$UPSCALER_BIN`, else the test build (`.build-test`), else the release or debug build in `<repo>/.build`.
    static var executable: URL? {
        if let path = ProcessInfo.processInfo.environment["UPSCALER_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return [".build-test/release/upscaler", ".build/release/upscaler", ".build/debug/upscaler"]
            .map { repositoryRoot.appendingPathComponent($0) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Options for a cheap run: the small model, one or two threads.
    static func options(
        scale: Double? = nil, format: ImageFormat? = nil, tiling: TilingOptions = TilingOptions(),
        limits: ImageLimits = .default
    ) -> UpscaleOptions {
        UpscaleOptions(model: model, scale: scale, format: format, tiling: tiling, threads: 2, limits: limits)
    }

    /// An upscaler over the installed models.
    static func upscaler() throws -> Upscaler {
        try Upscaler(store: ModelStore(directory: modelsDirectory))
    }
}

/// A fresh folder under the system temp folder, deleted when the value goes away.
final class ScratchFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("upscale-core-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path of `name` inside the folder (nothing is created).
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Creates the subfolder `name` and returns its path.
    func folder(_ name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true)
        return path(name)
    }

    /// Writes `bytes` to `name` and returns the path.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        try Data(bytes).write(to: url.appendingPathComponent(name))
        return path(name)
    }

    /// Every entry of the subfolder `name` (or of the folder itself), hidden ones included, sorted.
    func contents(of name: String? = nil) -> [String] {
        let dir = name.map(path) ?? url.path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }
}

/// A smooth colour gradient with a little seeded noise: image-like content for tests that only need some pixels.
func syntheticImage(width: Int, height: Int, seed: UInt64 = 1) -> RGBImage {
    var generator = SeededRandom(seed: seed)
    let plane = width * height
    var pixels = [Float](repeating: 0, count: 3 * plane)
    for y in 0..<height {
        for x in 0..<width {
            let u = Float(x) / Float(max(width - 1, 1)), v = Float(y) / Float(max(height - 1, 1))
            let base: [Float] = [u, v, 1 - (u + v) / 2]
            for c in 0..<3 {
                let noise = Float.random(in: -0.05...0.05, using: &generator)
                pixels[c * plane + y * width + x] = min(max(base[c] * 0.8 + 0.1 + noise, 0), 1)
            }
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// Encodes `image` as PNG bytes.
func pngBytes(_ image: RGBImage) throws -> [UInt8] {
    try Imaging.encode(image, format: .png, quality: 95)
}

/// Runs `body` and returns the ``UpscaleError`` it throws, recording an issue if it throws something else or nothing.
func upscaleError<R>(_ body: () throws -> R, sourceLocation: SourceLocation = #_sourceLocation) -> UpscaleError? {
    do {
        _ = try body()
        Issue.record("expected an UpscaleError, but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as UpscaleError {
        return error
    } catch {
        Issue.record("expected an UpscaleError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// What one run of the `upscaler` executable did.
struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String

    /// stderr split into lines, without the final newline's empty remainder.
    var stderrLines: [String] {
        stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .reversed().drop { $0.isEmpty }.reversed()
    }
}

/// Runs the `upscaler` executable with `arguments` and stdin closed; stdout and stderr are pipes (not terminals).
func runUpscaler(_ arguments: [String], environment extra: [String: String] = [:]) throws -> CommandResult {
    guard let executable = PipelineFixtures.executable else {
        throw CommandLineTestError("no upscaler executable: set UPSCALER_BIN or build the package")
    }
    let outcome = try Subprocess.run(executable.path, arguments, environment: extra)
    return CommandResult(status: outcome.status, stdout: outcome.stdout, stderr: outcome.stderr)
}

struct CommandLineTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
