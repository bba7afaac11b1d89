import Foundation
import Testing
import UpscaleCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The `upscaler` executable under test: `$UPSCALER_BIN`, else the test build.
enum ServerFixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var executable: String? {
        if let path = ProcessInfo.processInfo.environment["UPSCALER_BIN"], !path.isEmpty { return path }
        return [".build-test/release/upscaler", ".build/release/upscaler", ".build/debug/upscaler"]
            .map { repositoryRoot.appendingPathComponent($0).path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let modelsDirectory = ModelStore.defaultDirectory(environment: ProcessInfo.processInfo.environment)
    /// The small model keeps every job cheap.
    static let model = "realesr-animevideov3"

    static var modelInstalled: Bool {
        FileManager.default.fileExists(atPath: modelsDirectory.appendingPathComponent("\(model).bin").path)
    }

    static var ready: Bool { executable != nil && modelInstalled }

    static let tokenA = "test-token-alpha-0123456789"
    static let tokenB = "test-token-bravo-9876543210"
}

/// A scratch folder deleted with the value.
final class Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("server-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

struct ServerTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One `upscaler serve|api|worker` process on a free loopback port, stopped (SIGKILL unless stopped otherwise) when
/// the value goes away. Its stdout announces the port and readiness; stderr (JSON logs) is kept in a file.
final class TestServer {
    let process = Process()
    let role: String
    private(set) var port = 0
    let logFile: String
    private let output = Pipe()
    private let lines = LockedLines()

    /// Starts the role and waits until it says it is ready (listening, and for `serve` and `worker` the model loaded).
    init(
        role: String = "serve", dataDirectory: String, arguments: [String] = [],
        environment: [String: String] = ["VALID_TOKENS": "\(ServerFixtures.tokenA),\(ServerFixtures.tokenB)"],
        modelsDirectory: String = ServerFixtures.modelsDirectory.path, timeout: Double = 60
    ) throws {
        guard let executable = ServerFixtures.executable else { throw ServerTestError("no upscaler executable") }
        self.role = role
        logFile = dataDirectory + "-\(role)-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        var args = [
            role, "--data-dir", dataDirectory, "--models-dir", modelsDirectory, "--threads", "1",
            "--model", ServerFixtures.model, "--no-auto-fetch",
        ]
        if role != "worker" { args += ["--port", "0"] }
        process.arguments = args + arguments
        var env = ProcessInfo.processInfo.environment
        env["VALID_TOKENS"] = nil
        process.environment = env.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: logFile)
        process.standardInput = FileHandle.nullDevice
        let lines = self.lines
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { lines.append(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = lines.text
            let listening = role == "worker" || text.contains("listening on")
            let workerReady = role == "api" || text.contains("worker: ready")
            if listening && workerReady { break }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let text = lines.text
        if role != "worker" {
            guard let range = text.range(of: #"listening on http://[0-9.]+:(\d+)"#, options: .regularExpression),
                let port = Int(text[range].split(separator: ":").last ?? "")
            else {
                process.terminate()
                throw ServerTestError("the server did not start: \(text)\n\(log)")
            }
            self.port = port
        } else if !text.contains("worker: ready") {
            process.terminate()
            throw ServerTestError("the worker did not start: \(text)\n\(log)")
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logFile)
    }

    var base: String { "http://127.0.0.1:\(port)" }
    var stdout: String { lines.text }
    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then the exit status (nil if it did not exit within `timeout`).
    func terminate(timeout: Double = 20) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

final class LockedLines: @unchecked Sendable {
    private var value = ""
    private let lock = NSLock()
    func append(_ text: String) { lock.lock(); value += text; lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return value }
}

/// One HTTP exchange.
struct HTTPResult {
    let status: Int
    let headers: [String: String]
    let body: Data

    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}

/// Blocking HTTP calls for tests.
enum HTTP {
    static func request(
        _ method: String, _ url: String, token: String? = nil, body: Data? = nil,
        contentType: String? = nil, timeout: Double = 120
    ) throws -> HTTPResult {
        guard let target = URL(string: url) else { throw ServerTestError("bad URL \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        request.httpBody = body
        let done = DispatchSemaphore(value: 0)
        let box = LockedResult()
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.set(data, response as? HTTPURLResponse, error)
            done.signal()
        }.resume()
        done.wait()
        let (data, response, error) = box.get()
        if let error { throw ServerTestError("\(method) \(url): \(error)") }
        guard let response else { throw ServerTestError("\(method) \(url): no response") }
        var headers: [String: String] = [:]
        for (key, value) in response.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key] = value }
        }
        return HTTPResult(status: response.statusCode, headers: headers, body: data ?? Data())
    }

    static func json(_ object: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
    }
}

final class LockedResult: @unchecked Sendable {
    private var value: (Data?, HTTPURLResponse?, (any Error)?) = (nil, nil, nil)
    private let lock = NSLock()
    func set(_ data: Data?, _ response: HTTPURLResponse?, _ error: (any Error)?) {
        lock.lock(); value = (data, response, error); lock.unlock()
    }
    func get() -> (Data?, HTTPURLResponse?, (any Error)?) { lock.lock(); defer { lock.unlock() }; return value }
}

/// Runs a command and returns its exit status and stdout.
func runTool(_ arguments: [String], environment: [String: String] = [:]) throws -> (
    status: Int32, stdout: String, stderr: String
) {
    let outcome = try Subprocess.run("/usr/bin/env", arguments, environment: environment)
    return (outcome.status, outcome.stdout, outcome.stderr)
}

/// A PNG made by Pillow (not by the code under test) with a smooth pattern, `width` x `height`.
func pillowPNG(width: Int, height: Int, in scratch: Scratch, name: String = "input.png") throws -> String {
    let path = scratch.path(name)
    let script = """
        from PIL import Image
        im = Image.new('RGB', (\(width), \(height)))
        im.putdata([((x * 7) % 256, (y * 5) % 256, ((x + y) * 3) % 256) for y in range(\(height)) for x in range(\(width))])
        im.save('\(path)')
        """
    let result = try runTool(["python3", "-c", script])
    guard result.status == 0 else { throw ServerTestError("pillow: \(result.stderr)") }
    return path
}

/// Reads an image's format and size with Pillow.
func pillowInfo(_ data: Data, in scratch: Scratch) throws -> (format: String, width: Int, height: Int) {
    let path = scratch.path("probe-\(UUID().uuidString)")
    try data.write(to: URL(fileURLWithPath: path))
    let result = try runTool([
        "python3", "-c", "from PIL import Image; im = Image.open('\(path)'); print(im.format, im.size[0], im.size[1])",
    ])
    let parts = result.stdout.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
    guard result.status == 0, parts.count == 3, let w = Int(parts[1]), let h = Int(parts[2]) else {
        throw ServerTestError("not an image Pillow reads: \(result.stderr)")
    }
    return (parts[0], w, h)
}

/// Polls a job until `done` says so or `timeout` passes.
func waitForJob(
    _ server: TestServer, _ id: String, token: String, timeout: Double = 90,
    until done: ([String: Any]) -> Bool = {
        ["succeeded", "failed", "canceled"].contains($0["status"] as? String ?? "")
    }
)
    throws -> [String: Any]
{
    let deadline = Date().addingTimeInterval(timeout)
    var last: [String: Any] = [:]
    while Date() < deadline {
        let answer = try HTTP.request("GET", "\(server.base)/jobs/\(id)", token: token)
        // Polling is subject to the token's rate limit; a polite client waits as told.
        if answer.status == 429, let wait = answer.header("Retry-After").flatMap(Double.init) {
            Thread.sleep(forTimeInterval: wait)
            continue
        }
        last = answer.json
        if done(last) { return last }
        Thread.sleep(forTimeInterval: 0.1)
    }
    throw ServerTestError("job \(id) did not finish in \(timeout) s: \(last)")
}

/// What puts a server process on `kind`'s store: nothing for SQLite (the file in its data folder), or the test
/// database with a fresh schema. Processes given the same arguments share one store.
func storeArguments(_ kind: StoreKind) throws -> [String] {
    switch kind {
    case .memory:
        throw ServerTestError("a server process cannot share this process's memory store")
    case .sqlite:
        return []
    case .postgres:
        guard let base = StoreKind.postgresURL else { throw ServerTestError("no UPSCALER_TEST_DATABASE_URL") }
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return ["--database", base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"]
    }
}

/// Hex SHA-256 of a token, for tokens-file lines; computed by Python's hashlib, not by the server's own code.
func tokenDigest(_ token: String) throws -> String {
    let result = try runTool([
        "python3", "-c", "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())", token,
    ])
    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}
