import Foundation
import HTTPTypes
import JobStore
import TestSupport
import Testing

@testable import UpscaleServer

/// What time does to the service, moved by hand: links and results expire after the result TTL and the sweeper then
/// removes them (and abandoned temporary files), and an empty rate bucket refills at its rate.
@Suite struct ExpiryTests {
    static let token = InProcessServer.tokenA

    @Test func resultsExpireAndAreSwept() async throws {
        let server = try InProcessServer { $0.resultTTL = 600 }
        try await server.test { client in
            let id = try await client.createJob(side: 8)
            try await server.completeNextJob(resultTTL: 600)
            let job = try await client.call(.get, "/jobs/\(id)", token: Self.token).json
            let link = String(try #require(job["download_url"] as? String).dropFirst("http://upscaler.test".count))
            let path = try #require(try await server.store.job(id: id, owner: nil)?.result?.path)

            server.clock.advance(seconds: 599)
            await server.assembly.makeSweeper().sweepOnce(now: server.clock.now)
            #expect(try await client.call(.get, link).status == 200, "still inside its TTL")

            server.clock.advance(seconds: 2)
            let expired = try await client.call(.get, link)
            #expect(expired.status == 410 && expired.errorCode == "expired", "\(expired.text)")
            #expect(try await server.blobs.get(path) != nil, "not swept before the sweeper runs")

            // Temporary files a killed writer left: an hour-old one is swept, a fresh one (a write in progress) is not.
            let results = server.assembly.configuration.resultsDirectory
            try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
            let stale = results.appendingPathComponent(".\(id)-9.png.tmp-abcdef").path
            let fresh = results.appendingPathComponent(".new.png.tmp-123456").path
            for path in [stale, fresh] {
                #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))
            }
            try FileManager.default.setAttributes(
                [.modificationDate: server.clock.now.addingTimeInterval(-7200)], ofItemAtPath: stale)

            await server.assembly.makeSweeper().sweepOnce(now: server.clock.now)
            #expect(!FileManager.default.fileExists(atPath: stale) && FileManager.default.fileExists(atPath: fresh))
            let gone = try await client.call(.get, "/jobs/\(id)", token: Self.token)
            #expect(gone.status == 404 && gone.errorCode == "not_found", "\(gone.text)")
            #expect(try await server.blobs.get(path) == nil, "the result file is deleted with its job")
        }
    }

    /// Blobs no job names (an upload stored before a crash, the result of a lost lease) are removed once older than
    /// the result TTL; a queued job's upload and anything younger stay (issue 14, item 13).
    @Test func orphanBlobsAreSweptAfterTheTTL() async throws {
        let server = try InProcessServer { $0.resultTTL = 600 }
        try await server.test { client in
            let id = try await client.createJob(side: 8)
            let input = try #require(try await server.store.job(id: id, owner: nil)?.inputPath)
            try await server.blobs.put("inputs/never-queued", [1, 2, 3])
            try await server.blobs.put("results/lost-lease-1.png", [4, 5, 6])
            // Written "now" by the test's clock: a machine slowed by other tests must not make them younger.
            for key in ["inputs/never-queued", "results/lost-lease-1.png"] {
                try FileManager.default.setAttributes(
                    [.modificationDate: server.clock.now],
                    ofItemAtPath: server.directory.url.appendingPathComponent(key).path)
            }

            server.clock.advance(seconds: 590)
            await server.assembly.makeSweeper().sweepOnce(now: server.clock.now)
            #expect(try await server.blobs.get("inputs/never-queued") != nil, "younger than the TTL")

            server.clock.advance(seconds: 20)
            await server.assembly.makeSweeper().sweepOnce(now: server.clock.now)
            #expect(try await server.blobs.get("inputs/never-queued") == nil)
            #expect(try await server.blobs.get("results/lost-lease-1.png") == nil)
            #expect(try await server.blobs.get(input) != nil, "the queued job's upload is named by its job")
        }
    }

    @Test func rateBucketRefillsAtItsRate() async throws {
        // 2 requests at once, then one every 10 s.
        let server = try InProcessServer { $0.rateLimit = .init(burst: 2, perSecond: 0.1) }
        try await server.test { client in
            for _ in 0..<2 { #expect(try await client.call(.get, "/usage", token: Self.token).status == 200) }
            let refused = try await client.call(.get, "/usage", token: Self.token)
            #expect(refused.status == 429 && refused.header("Retry-After") == "10", "\(refused.headers)")
            server.clock.advance(seconds: 9)
            #expect(try await client.call(.get, "/usage", token: Self.token).status == 429, "not yet refilled")
            server.clock.advance(seconds: 1.5)
            #expect(try await client.call(.get, "/usage", token: Self.token).status == 200, "one unit back")
            #expect(try await client.call(.get, "/usage", token: Self.token).status == 429, "only one")
        }
    }
}
