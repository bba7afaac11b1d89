import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension HTTPAPITests {
    // MARK: - Client

    /// `upscaler client upscale`, both the waiting call and `--async`, against a live server.
    @Test func commandLineClient() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"))
        let input = try pillowPNG(width: 30, height: 22, in: scratch)
        let sync = try runTool([
            ServerFixtures.executable!, "client", "upscale", input, "--url", server.base,
            "--token", ServerFixtures.tokenA, "--scale", "2", "-o", scratch.path("sync.png"),
        ])
        #expect(sync.status == 0, "\(sync.stderr)")
        let first = try pillowInfo(try Data(contentsOf: URL(fileURLWithPath: scratch.path("sync.png"))), in: scratch)
        #expect(first.format == "PNG" && first.width == 60 && first.height == 44)
        let async = try runTool(
            [
                ServerFixtures.executable!, "client", "upscale", input, "--format", "jpg", "--async",
                "-o", scratch.path("async.jpg"),
            ],
            environment: ["UPSCALER_URL": server.base, "UPSCALER_TOKEN": ServerFixtures.tokenB])
        #expect(async.status == 0, "\(async.stderr)")
        #expect(async.stderr.contains("succeeded 100%"), "progress lines: \(async.stderr)")
        let second = try pillowInfo(try Data(contentsOf: URL(fileURLWithPath: scratch.path("async.jpg"))), in: scratch)
        #expect(second.format == "JPEG" && second.width == 120 && second.height == 88)
        let refused = try runTool([
            ServerFixtures.executable!, "client", "upscale", input, "--url", server.base,
            "--token", "wrong", "-o", scratch.path("never.png"),
        ])
        #expect(refused.status != 0 && refused.stderr.contains("401"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("never.png")))
    }

    // MARK: - Tokens

    /// `upscaler tokens generate` prints a token once and a `name:sha256` line; a server given only that line accepts
    /// the token, names it in /usage, and never needed the raw token.
    @Test func generatedTokenWorksThroughTheTokensFile() throws {
        let scratch = try Scratch()
        let generated = try runTool([ServerFixtures.executable!, "tokens", "generate", "--name", "alice"])
        #expect(generated.status == 0)
        let token = try #require(
            generated.stdout.split(separator: "\n").first { $0.hasPrefix("token: ") }?.dropFirst(7))
        let line = try #require(generated.stdout.split(separator: "\n").first { $0.hasPrefix("alice:") })
        #expect(token.count >= 40)
        #expect(!line.contains(token), "the file line holds a hash, not the token")
        try "# tokens\n\(line)\n".write(toFile: scratch.path("tokens"), atomically: true, encoding: .utf8)
        let server = try TestServer(
            dataDirectory: scratch.path("data"), arguments: ["--tokens-file", scratch.path("tokens")],
            environment: [:])
        let usage = try HTTP.request("GET", "\(server.base)/usage", token: String(token))
        #expect(usage.status == 200 && usage.json["token"] as? String == "alice", "\(usage.json)")
        #expect(try HTTP.request("GET", "\(server.base)/usage", token: String(token.dropLast())).status == 401)
    }

    /// With no token source the api refuses to start rather than serve an open endpoint.
    @Test func refusesToStartWithoutTokens() throws {
        let scratch = try Scratch()
        let result = try runTool(
            [ServerFixtures.executable!, "api", "--port", "0", "--data-dir", scratch.path("data")],
            environment: ["VALID_TOKENS": ""])
        #expect(result.status != 0 && result.stderr.contains("no tokens configured"), "\(result.stderr)")
    }
}
