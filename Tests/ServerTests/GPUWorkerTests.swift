import Foundation
import Testing

/// `serve --device gpu` on Mesa's lavapipe (the Vulkan device here and in CI): the worker says where it runs, a job
/// completes on the GPU and its timings name the device, and a machine without a Vulkan driver gets one clear line.
@Suite("GPU worker")
struct GPUWorkerTests {
    @Test func serveRunsJobsOnTheGPU() throws {
        let scratch = try Scratch()
        let server = try TestServer(
            dataDirectory: scratch.path("data"), arguments: ["--device", "gpu"],
            timeout: 120)
        #expect(server.stdout.contains("worker: ready with \(ServerFixtures.model) on gpu:0"), "\(server.stdout)")

        let ready = try HTTP.request("GET", "\(server.base)/health/ready")
        #expect(ready.status == 200)
        #expect((ready.json["device"] as? String)?.hasPrefix("gpu:0 (") == true, "\(ready.json)")

        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 30, height: 22, in: scratch)))
        let created = try HTTP.request(
            "POST", "\(server.base)/jobs", token: ServerFixtures.tokenA,
            body: HTTP.json(["image": png.base64EncodedString(), "scale": 4]),
            contentType: "application/json")
        #expect(created.status == 202, "\(created.json)")
        let id = try #require(created.json["id"] as? String)
        let job = try waitForJob(server, id, token: ServerFixtures.tokenA, timeout: 120)
        #expect(job["status"] as? String == "succeeded", "\(job)")
        #expect(job["device"] as? String == "gpu:0", "\(job)")
        #expect(job["upscaled_size"] as? [Int] == [120, 88])
        let link = try #require(job["download_url"] as? String)
        let download = try HTTP.request("GET", link)
        #expect(download.status == 200)
        let info = try pillowInfo(download.body, in: scratch)
        #expect(info.width == 120 && info.height == 88)

        let metrics = String(decoding: try HTTP.request("GET", "\(server.base)/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"upscaler_worker_info{device="gpu:0""#), "\(metrics)")
        #expect(metrics.contains(#"device="gpu:0""#) && metrics.contains("upscaler_jobs_total"))
    }

    /// With no Vulkan driver (the loader pointed at a driver list that does not exist), `--device gpu` stops the
    /// worker at start-up with one line naming the problem, and `auto` runs on the CPU.
    @Test func withoutADriverGPUIsRefusedAndAutoUsesTheCPU() throws {
        let scratch = try Scratch()
        let noDriver = ["VK_ICD_FILENAMES": "/nonexistent/icd.json", "VK_DRIVER_FILES": "/nonexistent/icd.json"]
        let executable = try #require(ServerFixtures.executable)
        let refused = try runTool(
            [
                executable, "worker", "--data-dir", scratch.path("data"), "--models-dir",
                ServerFixtures.modelsDirectory.path, "--model", ServerFixtures.model,
                "--no-auto-fetch", "--device", "gpu", "--log-format", "text",
            ],
            environment: noDriver)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("Vulkan"), "\(refused.stderr)")

        var environment = noDriver
        environment["VALID_TOKENS"] = ServerFixtures.tokenA
        let server = try TestServer(dataDirectory: scratch.path("data-auto"), environment: environment)
        #expect(server.stdout.contains("on the CPU, 1 thread"), "\(server.stdout)")
        let ready = try HTTP.request("GET", "\(server.base)/health/ready")
        #expect(ready.json["device"] as? String == "cpu", "\(ready.json)")
    }
}
