import Foundation
import Testing

/// Process-level behaviour: a killed server loses no job, the api role runs without models, a separate worker
/// shares its store, and SIGTERM drains.
@Suite(.enabled(if: ServerFixtures.ready, "needs the upscaler executable and realesr-animevideov3"), .serialized)
struct RolesAndCrashTests {
    /// A job slow enough to be killed mid-run: the big model with small tiles.
    static func slowJob(_ server: TestServer, scratch: Scratch) throws -> String {
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 160, height: 128, in: scratch)))
        let created = try HTTP.request("POST", "\(server.base)/jobs", token: ServerFixtures.tokenA,
                                       body: HTTP.json(["image": png.base64EncodedString(), "model": "realesrgan-x4plus",
                                                        "tile": 32, "scale": 2]), contentType: "application/json")
        return try #require(created.json["id"] as? String, "\(created.json)")
    }

    /// kill -9 while the job runs; after a restart the job is taken again (its lease ran out) and completes, and its
    /// result is whole.
    @Test func killedServerResumesTheJob() throws {
        let scratch = try Scratch()
        let data = scratch.path("data")
        let first = try TestServer(dataDirectory: data, arguments: ["--lease", "2"])
        let id = try Self.slowJob(first, scratch: scratch)
        _ = try waitForJob(first, id, token: ServerFixtures.tokenA) { ($0["tiles_done"] as? Int ?? 0) >= 1 }
        first.kill9()

        let second = try TestServer(dataDirectory: data, arguments: ["--lease", "2"])
        let job = try waitForJob(second, id, token: ServerFixtures.tokenA, timeout: 120)
        #expect(job["status"] as? String == "succeeded", "\(job)")
        #expect(job["attempts"] as? Int == 2, "taken again once: \(job)")
        let link = try #require(job["download_url"] as? String)
        let info = try pillowInfo(try HTTP.request("GET", link).body, in: scratch)
        #expect(info.format == "PNG" && info.width == 320 && info.height == 256)
    }

    /// Past the attempt limit the job fails with the reason instead of looping or hanging.
    @Test func jobFailsWithAReasonAfterTheAttemptLimit() throws {
        let scratch = try Scratch()
        let data = scratch.path("data")
        let first = try TestServer(dataDirectory: data, arguments: ["--lease", "2", "--max-attempts", "1"])
        let id = try Self.slowJob(first, scratch: scratch)
        _ = try waitForJob(first, id, token: ServerFixtures.tokenA) { $0["status"] as? String == "running" }
        first.kill9()

        let second = try TestServer(dataDirectory: data, arguments: ["--lease", "2", "--max-attempts", "1"])
        let job = try waitForJob(second, id, token: ServerFixtures.tokenA, timeout: 30)
        #expect(job["status"] as? String == "failed")
        let error = job["error"] as? [String: Any]
        #expect(error?["code"] as? String == "worker_lost", "\(job)")
        #expect((error?["message"] as? String)?.contains("stopped") == true)
        #expect(job["download_url"] == nil)
    }

    /// `upscaler api` with an empty models folder starts, answers /health, says it is not ready (no worker), and
    /// queues jobs; a separate `upscaler worker` on the same data folder then runs them.
    @Test func apiWithoutModelsAndASeparateWorker() throws {
        let scratch = try Scratch()
        let data = scratch.path("data")
        let emptyModels = scratch.path("no-models")
        try FileManager.default.createDirectory(atPath: emptyModels, withIntermediateDirectories: true)
        let api = try TestServer(role: "api", dataDirectory: data, modelsDirectory: emptyModels)
        #expect(try HTTP.request("GET", "\(api.base)/health").status == 200)
        let ready = try HTTP.request("GET", "\(api.base)/health/ready")
        #expect(ready.status == 503 && ready.json["worker"] as? Bool == false && ready.json["store"] as? Bool == true)
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 20, height: 18, in: scratch)))
        let created = try HTTP.request("POST", "\(api.base)/jobs", token: ServerFixtures.tokenA,
                                       body: HTTP.json(["image": png.base64EncodedString(), "scale": 2]),
                                       contentType: "application/json")
        let id = try #require(created.json["id"] as? String)
        Thread.sleep(forTimeInterval: 1)
        #expect(try HTTP.request("GET", "\(api.base)/jobs/\(id)", token: ServerFixtures.tokenA).json["status"] as? String == "queued")
        #expect(!api.log.contains("worker ready"), "the api role loads no model")

        let worker = try TestServer(role: "worker", dataDirectory: data)
        let job = try waitForJob(api, id, token: ServerFixtures.tokenA, timeout: 60)
        #expect(job["status"] as? String == "succeeded" && job["upscaled_size"] as? [Int] == [40, 36])
        #expect(try HTTP.request("GET", "\(api.base)/health/ready").status == 200)
        _ = worker
    }

    /// With no worker, jobs wait: past the per-token limit the token gets 429, past the global limit everyone gets
    /// 503, both with Retry-After; and the queue depth shows in /metrics.
    @Test func fullQueueAnswers429And503() throws {
        let scratch = try Scratch()
        let api = try TestServer(role: "api", dataDirectory: scratch.path("data"),
                                 arguments: ["--max-queued-per-token", "2", "--max-queue", "3"])
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 8, height: 8, in: scratch)))
        func submit(_ token: String) throws -> HTTPResult {
            try HTTP.request("POST", "\(api.base)/jobs", token: token, body: HTTP.json(["image": png.base64EncodedString()]),
                             contentType: "application/json")
        }
        #expect(try submit(ServerFixtures.tokenA).status == 202)
        #expect(try submit(ServerFixtures.tokenA).status == 202)
        let perToken = try submit(ServerFixtures.tokenA)
        #expect(perToken.status == 429 && perToken.errorCode == "too_many_jobs" && perToken.header("Retry-After") != nil)
        #expect(try submit(ServerFixtures.tokenB).status == 202)
        let full = try submit(ServerFixtures.tokenB)
        #expect(full.status == 503 && full.errorCode == "queue_full" && full.header("Retry-After") != nil)
        let metrics = String(decoding: try HTTP.request("GET", "\(api.base)/metrics").body, as: UTF8.self)
        #expect(metrics.contains("upscaler_queue_depth 3"), "\(metrics.split(separator: "\n").filter { $0.contains("queue") })")
        // 429 and 503 are logged without the token or the image.
        #expect(!api.log.contains(ServerFixtures.tokenA) && !api.log.contains(ServerFixtures.tokenB))
        #expect(!api.log.contains(String(png.base64EncodedString().prefix(40))))
    }

    /// SIGTERM while idle: the process drains and exits 0 promptly.
    @Test func sigtermExitsCleanly() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"))
        #expect(try HTTP.request("GET", "\(server.base)/health").status == 200)
        #expect(server.terminate(timeout: 15) == 0, "exit status after SIGTERM; log:\n\(server.log.suffix(2000))")
    }
}
