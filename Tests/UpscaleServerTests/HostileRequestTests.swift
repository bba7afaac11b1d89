import Foundation
import HTTPTypes
import JobStore
import TestSupport
import Testing

@testable import UpscaleServer

/// Requests a hostile or careless client sends (issue 14): each answers its 4xx with a JSON error code, nothing is
/// queued, and the app keeps serving. Statuses and codes are the ones the README's error table documents.
@Suite struct HostileRequestTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let path: String
        let body: [UInt8]
        let contentType: String
        let status: Int
        let code: String
        var description: String { name }
    }

    static let token = InProcessServer.tokenA
    static let png = testPNG(width: 8, height: 8)

    /// A form with `parts` (name, filename or nil, bytes) under `boundary`.
    static func form(_ parts: [(String, String?, [UInt8])], boundary: String = "b0undary") -> [UInt8] {
        var body: [UInt8] = []
        for (name, filename, bytes) in parts {
            let disposition = "form-data; name=\"\(name)\"" + (filename.map { "; filename=\"\($0)\"" } ?? "")
            body += Array("--\(boundary)\r\nContent-Disposition: \(disposition)\r\n\r\n".utf8) + bytes + [13, 10]
        }
        return body + Array("--\(boundary)--\r\n".utf8)
    }

    static let formType = "multipart/form-data; boundary=b0undary"

    static let cases: [Case] = [
        // Malformed forms (item 5): each answered 500 before.
        Case(
            name: "not a form at all", path: "/jobs", body: Array("hello, world".utf8), contentType: formType,
            status: 400, code: "invalid_request"),
        Case(
            name: "another boundary than declared", path: "/jobs",
            body: form([("image", "a.png", png)], boundary: "other"), contentType: formType, status: 400,
            code: "invalid_request"),
        Case(
            name: "scale given twice", path: "/jobs",
            body: form([("image", "a.png", png), ("scale", nil, Array("2".utf8)), ("scale", nil, Array("4".utf8))]),
            contentType: formType, status: 400, code: "invalid_request"),
        Case(
            name: "an over-long field", path: "/jobs",
            body: form([("image", "a.png", png), ("model", nil, [UInt8](repeating: 0x61, count: 5000))]),
            contentType: formType, status: 400, code: "invalid_request"),
        Case(
            name: "an over-long number", path: "/jobs",
            body: form([("image", "a.png", png), ("scale", nil, [UInt8](repeating: 0x31, count: 500))]),
            contentType: formType, status: 400, code: "invalid_scale"),
        Case(
            name: "no image part", path: "/jobs", body: form([("scale", nil, Array("2".utf8))]),
            contentType: formType, status: 400, code: "missing_image"),
        Case(
            name: "a form cut short", path: "/jobs", body: Array(form([("image", "a.png", png)]).prefix(60)),
            contentType: formType, status: 400, code: "invalid_request"),
        // A query that does not decode is not a JSON problem (item 15).
        Case(
            name: "a query scale that is not a number", path: "/jobs?scale=abc", body: png, contentType: "image/png",
            status: 400, code: "invalid_request"),
        // Work bounded before queuing (items 1, 2 and 7).
        Case(
            name: "4096x4096 at 2x", path: "/jobs?scale=2",
            body: TestPNG.hugeHeader(width: 4096, height: 4096), contentType: "image/png", status: 413,
            code: "too_much_work"),
        Case(
            name: "a tile past --max-tile", path: "/jobs",
            body: Array(
                try! JSONSerialization.data(withJSONObject: ["image": Data(png).base64EncodedString(), "tile": 512])),
            contentType: "application/json", status: 400, code: "invalid_tile"),
        Case(
            name: "a WebP wider than 16383 px", path: "/jobs?scale=4&output_ext=webp",
            body: TestPNG.hugeHeader(width: 4096, height: 4), contentType: "image/png", status: 422,
            code: "unprocessable"),
    ]

    @Test(arguments: cases)
    func answersWithItsCode(_ item: Case) async throws {
        let server = try InProcessServer { $0.maxInputSide = nil }
        try await server.test { client in
            let reply = try await client.call(
                .post, item.path, token: Self.token, body: item.body, contentType: item.contentType)
            #expect(reply.status == item.status, "\(reply.status) \(reply.text)")
            #expect(reply.errorCode == item.code, "\(reply.text)")
            #expect(!(reply.errorMessage ?? "").isEmpty)
            #expect(try await client.call(.get, "/health").status == 200)
        }
        #expect(try await server.store.queuedCount() == 0)
    }

    /// The limits refuse only what is past them: the same 4096x4096 at 4x is shrunk to 2048 first and queued, a tile
    /// at the cap and a PNG of the size WebP refuses are queued.
    @Test func workWithinTheLimitsIsQueued() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            let big = try await client.call(
                .post, "/jobs?scale=4", token: Self.token, body: TestPNG.hugeHeader(width: 4096, height: 4096),
                contentType: "image/png")
            #expect(big.status == 202, "\(big.text)")
            let tile = try await client.call(
                .post, "/jobs", token: Self.token, json: ["image": Data(Self.png).base64EncodedString(), "tile": 256])
            #expect(tile.status == 202, "\(tile.text)")
            let info = try await client.call(.get, "/").json
            let limits = try #require(info["limits"] as? [String: Any])
            #expect(limits["max_tile"] as? Int == 256 && limits["max_model_pixels"] as? Int == 2048 * 2048)
        }
        let wide = try InProcessServer { $0.maxInputSide = nil }
        try await wide.test { client in
            let png = try await client.call(
                .post, "/jobs?scale=4&output_ext=png", token: Self.token,
                body: TestPNG.hugeHeader(width: 4096, height: 4), contentType: "image/png")
            #expect(png.status == 202, "\(png.text)")
        }
    }

    /// Event streams are capped per token (429) and in all (503), and a stream that ends gives its slot back
    /// (item 8).
    @Test func eventStreamsAreCapped() async throws {
        let server = try InProcessServer {
            $0.maxStreamsPerToken = 2
            $0.maxStreams = 3
        }
        let ownerA = try #require(server.assembly.tokens.authenticate(authorization: "Bearer \(Self.token)")?.owner)
        try await server.test { client in
            let id = try await client.createJob(side: 8)
            try await server.completeNextJob()
            // A finished job's stream ends at once: ten in a row, each giving its slot back.
            for _ in 0..<10 {
                #expect(try await client.call(.get, "/jobs/\(id)/events", token: Self.token).status == 200)
            }
            // Two held by token A (as by clients still reading): the third is refused, with its own code.
            #expect(
                server.assembly.streams.take(for: ownerA) == nil && server.assembly.streams.take(for: ownerA) == nil)
            let perToken = try await client.call(.get, "/jobs/\(id)/events", token: Self.token)
            #expect(perToken.status == 429 && perToken.errorCode == "too_many_streams", "\(perToken.text)")
            #expect(perToken.header("Retry-After") != nil)
            // One held by someone else fills the server.
            #expect(server.assembly.streams.take(for: "someone else") == nil)
            let idB =
                try await client.call(
                    .post, "/jobs", token: InProcessServer.tokenB,
                    json: ["image": Data(Self.png).base64EncodedString()]
                ).json["id"] as? String
            let all = try await client.call(.get, "/jobs/\(try #require(idB))/events", token: InProcessServer.tokenB)
            #expect(all.status == 503 && all.errorCode == "too_many_streams", "\(all.text)")
            server.assembly.streams.giveBack(for: ownerA)
            server.assembly.streams.giveBack(for: "someone else")
            #expect(try await client.call(.get, "/jobs/\(id)/events", token: Self.token).status == 200)
        }
    }

    /// An image whose job stopped the worker twice fails with 422 `input_crashed_worker` although attempts are
    /// left, a new upload of the same bytes is refused before it is stored, and other images are still taken
    /// (item 14).
    @Test func anImageThatStopsTheWorkerTwiceIsRefused() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            let id = try await client.createJob(side: 8)
            for _ in 0..<2 {
                // A worker takes the job and dies before it finishes: its 30 s lease runs out.
                let taken = try await server.store.claim(
                    worker: "doomed", lease: 30, maxAttempts: 3, resultTTL: 3600, now: server.clock.now)
                #expect(taken?.id == id)
                server.clock.advance(seconds: 31)
            }
            // The next claim fails the job instead of taking it a third time.
            #expect(try await server.completeNextJob() == nil)
            let job = try await client.call(.get, "/jobs/\(id)", token: Self.token)
            let error = job.json["error"] as? [String: Any]
            #expect(job.json["status"] as? String == "failed" && error?["code"] as? String == "input_crashed_worker")
            let again = try await client.call(
                .post, "/jobs", token: Self.token, json: ["image": Data(Self.png).base64EncodedString()])
            #expect(again.status == 422 && again.errorCode == "input_crashed_worker", "\(again.text)")
            #expect(try await server.store.queuedCount() == 0)
            let other = try await client.call(
                .post, "/jobs", token: Self.token,
                json: ["image": Data(testPNG(width: 9, height: 9)).base64EncodedString()])
            #expect(other.status == 202, "\(other.text)")
        }
    }

    /// A full disk answers 507 `storage_full` with Retry-After and stores nothing, readiness says so, and `/health`
    /// still answers; a job store that cannot take a rate unit refuses calls that create jobs (503) and lets reads
    /// through (item 11).
    @Test func fullDiskAndUnreachableStore() async throws {
        let full = try InProcessServer(wrap: { ($0.jobs, FullDiskBlobs(base: $0.blobs)) })
        try await full.test { client in
            let refused = try await client.call(
                .post, "/jobs", token: Self.token, json: ["image": Data(Self.png).base64EncodedString()])
            #expect(refused.status == 507 && refused.errorCode == "storage_full", "\(refused.text)")
            #expect(refused.header("Retry-After") == "60")
            let ready = try await client.call(.get, "/health/ready")
            #expect(ready.status == 503 && ready.json["storage_writable"] as? Bool == false, "\(ready.text)")
            #expect(try await client.call(.get, "/health").status == 200)
        }
        #expect(try await full.store.queuedCount() == 0)
        let unreachable = try InProcessServer(wrap: { (ObservedJobStore.unreachableBuckets($0.jobs), $0.blobs) })
        try await unreachable.test { client in
            let refused = try await client.call(
                .post, "/jobs", token: Self.token, json: ["image": Data(Self.png).base64EncodedString()])
            #expect(refused.status == 503 && refused.errorCode == "store_unavailable", "\(refused.text)")
            #expect(refused.header("Retry-After") != nil)
            #expect(try await client.call(.get, "/usage", token: Self.token).status == 200, "reads go through")
        }
        #expect(try await unreachable.store.queuedCount() == 0)
    }

    /// A result is streamed from the store in chunks, byte for byte, and one address may download only so many at
    /// once (item 6).
    @Test func downloadsAreStreamedAndCapped() async throws {
        let server = try InProcessServer { $0.maxDownloadsPerAddress = 2 }
        try await server.test { client in
            let id = try await client.createJob(side: 200)  // an 800x800 result: several 256 KiB chunks
            let job = try #require(try await server.completeNextJob())
            let path = try #require(job.result?.path)
            let stored = try #require(try await server.blobs.get(path))
            #expect(stored.count > 600_000)
            let view = try await client.call(.get, "/jobs/\(id)", token: Self.token).json
            let link = String(try #require(view["download_url"] as? String).dropFirst("http://upscaler.test".count))
            let download = try await client.call(.get, link)
            #expect(download.status == 200 && download.body == stored)
            #expect(download.header("Content-Length") == "\(stored.count)")
            // Two held by this address (clients still reading): the third is refused until one is done.
            #expect(server.assembly.downloads.take(for: "unknown") == nil)
            #expect(server.assembly.downloads.take(for: "unknown") == nil)
            let refused = try await client.call(.get, link)
            #expect(refused.status == 429 && refused.errorCode == "too_many_downloads", "\(refused.text)")
            server.assembly.downloads.giveBack(for: "unknown")
            #expect(try await client.call(.get, link).status == 200, "a finished download gave its slot back")
        }
    }

    /// HEAD answers wherever GET does, as `Allow` says, with no body (item 15).
    @Test func headAnswersWhereGetDoes() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            for path in ["/health", "/openapi.json", "/ui", "/"] {
                let reply = try await client.call(.head, path)
                #expect(reply.status == 200 && reply.body.isEmpty, "HEAD \(path): \(reply.status)")
            }
            let post = try await client.call(.head, "/jobs")
            #expect(post.status == 405 && post.header("Allow")?.contains("HEAD") == false, "\(post.headers)")
        }
    }

    /// The pages may not be framed or run another site's code; no answer may be sniffed into another type (item 15).
    @Test func pagesCarrySecurityHeaders() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            for path in ["/ui", "/docs"] {
                let page = try await client.call(.get, path)
                let policy = try #require(page.header("Content-Security-Policy"), "\(path)")
                #expect(policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'none'"))
                #expect(policy.contains("connect-src 'self' http://upscaler.test"), "\(policy)")
                #expect(page.header("X-Frame-Options") == "DENY")
            }
            for path in ["/ui", "/health", "/no/such/path"] {
                #expect(try await client.call(.get, path).header("X-Content-Type-Options") == "nosniff", "\(path)")
            }
        }
    }

    /// Ten wrong tokens from one address, then that address is refused before its token is read, even the right
    /// one, until a try has refilled (item 10).
    @Test func wrongTokensAreThrottled() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            for attempt in 1...10 {
                let wrong = try await client.call(.get, "/usage", token: "guess-\(attempt)-aaaaaaaaaaaaaa")
                #expect(wrong.status == 401, "attempt \(attempt)")
            }
            let blocked = try await client.call(.get, "/usage", token: Self.token)
            #expect(blocked.status == 429 && blocked.errorCode == "rate_limited", "\(blocked.text)")
            #expect(blocked.header("Retry-After") == "6")
            #expect(try await client.call(.get, "/usage").status == 401, "no token: not throttled, not counted")
            server.clock.advance(seconds: 6)
            #expect(try await client.call(.get, "/usage", token: Self.token).status == 200)
        }
    }

    /// Short tokens are refused at start; owners are keyed by the server's secret, not a bare SHA-256 (item 10).
    @Test func tokensAndOwners() throws {
        #expect(throws: ConfigurationError.self) {
            try TokenRegistry.load(validTokens: "change-me", tokensFile: nil, secret: [1, 2, 3])
        }
        let token = "a-token-of-twenty-chars"
        let one = try TokenRegistry.load(validTokens: token, tokensFile: nil, secret: Array(repeating: 1, count: 32))
        let again = try TokenRegistry.load(validTokens: token, tokensFile: nil, secret: Array(repeating: 1, count: 32))
        let other = try TokenRegistry.load(validTokens: token, tokensFile: nil, secret: Array(repeating: 2, count: 32))
        let owner = try #require(one.authenticate(authorization: "Bearer \(token)")?.owner)
        #expect(owner == again.authenticate(authorization: "Bearer \(token)")?.owner, "stable across restarts")
        #expect(owner != other.authenticate(authorization: "Bearer \(token)")?.owner, "keyed by the secret")
        #expect(owner != TokenRegistry.digest(token).map { String(format: "%02x", $0) }.joined())
    }

    /// Links use a Host field only when it is a well-formed host; a forwarded client only from a trusted proxy's
    /// last hop (item 9). Answers written out by hand.
    @Test(arguments: [
        ("upscale.example.com", true), ("127.0.0.1:8000", true), ("[::1]:8000", true), ("my_host:1", true),
        ("evil.example/<script>", false), ("a:b:c", false), ("host:99999", false), ("", false),
        ("host:", false), ("[::1", false), ("exa mple.com", false),
    ])
    func hostsAreValidated(authority: String, accepted: Bool) {
        #expect((ServiceMiddleware<ServerRequestContext>.wellFormedHost(authority) != nil) == accepted)
    }

    @Test func forwardedClientIsTheLastHop() {
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Forwarded-For")!] = "6.6.6.6, 10.0.0.7"
        #expect(ServiceMiddleware<ServerRequestContext>.forwardedClient(headers) == "10.0.0.7")
        headers[HTTPField.Name("X-Forwarded-For")!] = "10.0.0.7, <script>"
        #expect(ServiceMiddleware<ServerRequestContext>.forwardedClient(headers) == nil)
    }
}
