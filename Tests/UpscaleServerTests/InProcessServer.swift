import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Imaging
import Logging
import NIOCore
import TestSupport
import Testing

@testable import JobStore
@testable import UpscaleServer

/// The api role assembled in this process on a temporary SQLite store, with two fixed tokens and a fixed signing
/// key, and driven through Hummingbird's router test framework: no process, no socket, no model. Jobs are finished
/// by ``completeNextJob()``, a stand-in for the worker that writes a PNG of the requested size. Wall time is a
/// ``ManualClock`` the tests move.
struct InProcessServer: Sendable {
    static let tokenA = "test-token-aaaaaaaaaaaaaaaa"
    static let tokenB = "test-token-bbbbbbbbbbbbbbbb"

    let assembly: ServerAssembly
    let store: any JobStore
    let blobs: any BlobStore
    let directory: TemporaryDirectory
    let clock = ManualClock()

    /// `wrap` may stand the stores in for failing ones (a full disk, an unreachable database).
    init(
        _ adjust: (inout ServerConfiguration) -> Void = { _ in },
        wrap: (Stores) -> (jobs: any JobStore, blobs: any BlobStore) = { ($0.jobs, $0.blobs) }
    ) throws {
        try Imaging.initialize()
        directory = try TemporaryDirectory()
        var configuration = ServerConfiguration(
            dataDirectory: directory.url,
            modelsDirectory: directory.url.appendingPathComponent("models"),
            cacheDirectory: directory.url.appendingPathComponent("cache"),
            threads: 1)
        configuration.publicURL = "http://upscaler.test"
        // Long enough for a stand-in worker starved by other tests on a two-core machine; a finished job ends the
        // wait at once.
        configuration.waitSeconds = 300
        adjust(&configuration)
        let made = try Stores.sqlite(
            path: directory.url.appendingPathComponent("jobs.sqlite").path,
            blobRoot: directory.url)
        let wrapped = wrap(made)
        let stores = Stores(jobs: wrapped.jobs, blobs: wrapped.blobs, postgres: nil)
        store = stores.jobs
        blobs = stores.blobs
        let key = [UInt8](repeating: 0xab, count: 32)
        let tokens = try TokenRegistry.load(
            validTokens: "\(Self.tokenA),\(Self.tokenB)", tokensFile: nil, secret: key)
        let signer = DownloadSigner(key: key)
        assembly = ServerAssembly(
            configuration: configuration, role: .api, logger: Logger(label: "test"),
            stores: stores, tokens: tokens, signer: signer, clock: clock.wallClock)
    }

    /// Runs `body` with a client of the app.
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let application = Application(router: try assembly.makeRouter())
        return try await application.test(.router, body)
    }

    /// What the worker would do, without a model: claims the oldest job and stores a PNG of the output size the job
    /// asked for (made by the tests' own PNG writer), or returns nil when nothing is queued.
    @discardableResult
    func completeNextJob(failWith failure: ErrorCode? = nil, resultTTL: Double = 3600) async throws -> JobRecord? {
        guard
            let job = try await store.claim(
                worker: "stand-in-1", lease: 30, maxAttempts: 3, resultTTL: 3600,
                now: clock.now)
        else { return nil }
        if let failure {
            return try await store.finish(
                id: job.id, worker: "stand-in-1",
                outcome: .failed(code: failure, message: "refused by the stand-in"),
                resultTTL: resultTTL, now: clock.now)
        }
        let request = try JSONDecoder().decode(JobRequest.self, from: job.request)
        let scale = request.scale ?? 4
        let width = Int((Double(job.inputWidth) * scale).rounded()),
            height = Int((Double(job.inputHeight) * scale).rounded())
        let png = TestPNG.encode(
            width: width, height: height, colorType: .gray,
            samples: [UInt16](repeating: 128, count: width * height))
        // The bytes are a PNG whatever the format asked; the API reports and serves what the job recorded.
        let key = "results/\(job.id)-\(job.attempts).\(request.format.fileExtension)"
        try await blobs.put(key, png)
        return try await store.finish(
            id: job.id, worker: "stand-in-1",
            outcome: .succeeded(
                JobResult(
                    path: key, width: width, height: height,
                    format: request.format.fileExtension, processingSeconds: 0.01,
                    device: "cpu")),
            resultTTL: resultTTL, now: clock.now)
    }
}

/// A PNG of `width` x `height` with a smooth pattern, from the tests' own writer.
func testPNG(width: Int, height: Int) -> [UInt8] {
    var samples: [UInt16] = []
    for y in 0..<height {
        for x in 0..<width { samples += [UInt16(x * 7 % 256), UInt16(y * 5 % 256), UInt16((x + y) * 3 % 256)] }
    }
    return TestPNG.encode(width: width, height: height, colorType: .rgb, samples: samples)
}

extension TestClientProtocol {
    /// Queues a job for a `side` x `side` test image as token A and returns its id.
    func createJob(side: Int) async throws -> String {
        let created = try await call(
            .post, "/jobs", token: InProcessServer.tokenA,
            json: ["image": Data(testPNG(width: side, height: side)).base64EncodedString()])
        return try #require(created.json["id"] as? String, "\(created.text)")
    }

    /// Sends one request; `json` is encoded as the body with `Content-Type: application/json`.
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: [String: Any]? = nil,
        body: [UInt8]? = nil, contentType: String? = nil
    ) async throws -> Reply {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        var bytes = body
        if let json {
            bytes = Array(try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = "application/json"
        }
        if let contentType { headers[.contentType] = contentType }
        let response = try await execute(
            uri: uri, method: method, headers: headers,
            body: bytes.map { ByteBuffer(bytes: $0) })
        return Reply(
            status: Int(response.status.code), headers: response.headers,
            body: Array(buffer: response.body))
    }
}

/// One response, with its JSON read by Foundation (not by the code under test).
struct Reply {
    let status: Int
    let headers: HTTPFields
    let body: [UInt8]

    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }
}
