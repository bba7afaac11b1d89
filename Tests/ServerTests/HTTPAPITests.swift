import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The HTTP service, run as the real executable on a random loopback port and called over HTTP (curl for the old
/// service's examples, URLSession otherwise). Expectations come from the old service's README and the OpenAPI
/// document, and results are read back with Pillow.
@Suite(.enabled(if: ServerFixtures.ready, "needs the upscaler executable and realesr-animevideov3"), .serialized)
struct HTTPAPITests {
    // MARK: - The old service's flow

    /// The README's curl call, verbatim in form (`-d` with inline JSON, no Content-Type), then its download link.
    @Test(arguments: [(4, "png", "PNG"), (2, "jpg", "JPEG")])
    func seedCurlFlow(scale: Int, ext: String, pillowFormat: String) throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"))
        let image = try pillowPNG(width: 36, height: 28, in: scratch)
        let base64 = try Data(contentsOf: URL(fileURLWithPath: image)).base64EncodedString()
        let curl = try runTool([
            "curl", "-s", "-X", "POST", "\(server.base)/upscale",
            "-H", "Authorization: Bearer \(ServerFixtures.tokenA)",
            "-d", #"{"image":"\#(base64)","scale":\#(scale),"output_ext":"\#(ext)"}"#,
        ])
        let answer = try #require(
            try JSONSerialization.jsonObject(with: Data(curl.stdout.utf8)) as? [String: Any],
            "\(curl.stdout)")
        for field in ["download_url", "file_id", "original_size", "upscaled_size", "expires_at", "output_format"] {
            #expect(answer[field] != nil, "missing \(field) in \(answer)")
        }
        #expect(answer["original_size"] as? [Int] == [36, 28])
        #expect(answer["upscaled_size"] as? [Int] == [36 * scale, 28 * scale])
        #expect(answer["output_format"] as? String == ext)
        let expires = try #require(answer["expires_at"] as? String)
        #expect(try Date(expires, strategy: .iso8601) > Date())

        let link = try #require(answer["download_url"] as? String)
        let download = try runTool(["curl", "-s", "-D", scratch.path("headers"), "-o", scratch.path("result"), link])
        #expect(download.status == 0)
        let file = try Data(contentsOf: URL(fileURLWithPath: scratch.path("result")))
        let info = try pillowInfo(file, in: scratch)
        #expect(info.format == pillowFormat && info.width == 36 * scale && info.height == 28 * scale)
        let headers = try String(contentsOfFile: scratch.path("headers"), encoding: .utf8).lowercased()
        #expect(headers.contains("content-type: image/\(ext == "jpg" ? "jpeg" : "png")"))
        #expect(headers.contains("content-disposition: attachment; filename=\"upscaled-"), "\(headers)")

        // Nobody else on the machine may read the uploads, results, database or key: folders 0700, files 0600.
        let data = scratch.path("data")
        func mode(_ path: String) throws -> Int {
            try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        for folder in [data, "\(data)/inputs", "\(data)/results"] {
            let found = try mode(folder)
            #expect(found == 0o700, "\(folder): \(String(found, radix: 8))")
        }
        let results = try FileManager.default.contentsOfDirectory(atPath: "\(data)/results")
        #expect(!results.isEmpty)
        for file in ["upscaler.sqlite", "signing.key"] + results.map({ "results/\($0)" }) {
            let found = try mode("\(data)/\(file)")
            #expect(found == 0o600, "\(file): \(String(found, radix: 8))")
        }
    }

    // MARK: - Errors

    /// What only the real worker and log can show: an image whose header reads but whose pixels do not fails as
    /// 400 `invalid_image` at the worker, the server goes on serving, and the log has each refusal but never a token
    /// or the image. (Every other error case is in `ErrorResponseTests`, in process.)
    @Test func corruptPixelsAndTheLog() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"))
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 20, height: 16, in: scratch)))
        let good = png.base64EncodedString()
        let corrupt = try HTTP.request(
            "POST", "\(server.base)/upscale", token: ServerFixtures.tokenA,
            body: HTTP.json(["image": Data(png.prefix(png.count / 2)).base64EncodedString()]),
            contentType: "application/json")
        #expect(corrupt.status == 400 && corrupt.errorCode == "invalid_image", "\(corrupt.json)")
        #expect(!(corrupt.errorMessage ?? "").isEmpty && corrupt.json["detail"] != nil)
        let wrongToken = try HTTP.request(
            "POST", "\(server.base)/upscale", token: "not-a-token", body: HTTP.json(["image": good]),
            contentType: "application/json")
        #expect(wrongToken.status == 401)
        let scale3 = try HTTP.request(
            "POST", "\(server.base)/upscale", token: ServerFixtures.tokenA,
            body: HTTP.json(["image": good, "scale": 3]), contentType: "application/json")
        #expect(scale3.status == 400 && scale3.errorCode == "invalid_scale")
        let badJSON = try HTTP.request(
            "POST", "\(server.base)/upscale", token: ServerFixtures.tokenA,
            body: Data("{\"image\": \"\(good.prefix(64))".utf8), contentType: "application/json")
        #expect(badJSON.status == 400 && badJSON.errorCode == "invalid_json")
        #expect(try HTTP.request("GET", "\(server.base)/health").status == 200)
        let ready = try HTTP.request("GET", "\(server.base)/health/ready")
        #expect(ready.status == 200 && ready.json["worker"] as? Bool == true, "\(ready.json)")
        #expect(server.process.isRunning)
        let log = server.log
        #expect(
            log.contains("request refused") && !log.contains(ServerFixtures.tokenA)
                && !log.contains(String(good.prefix(40))))
    }

    /// Two jobs of the same size in a row reuse the model's plan. Every job must run on the thread that built it:
    /// oneDNN's scratchpad lives in that thread's storage (run on a fresh thread per job, the second one crashed).
    @Test func sameSizeJobsInARowWithTheBigModel() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"), arguments: ["--model", "realesrgan-x4plus"])
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 24, height: 20, in: scratch)))
        for attempt in 1...3 {
            let answer = try HTTP.request(
                "POST", "\(server.base)/upscale", token: ServerFixtures.tokenA,
                body: HTTP.json(["image": png.base64EncodedString()]), contentType: "application/json")
            #expect(answer.status == 200, "attempt \(attempt): \(String(decoding: answer.body, as: UTF8.self))")
            #expect(answer.json["upscaled_size"] as? [Int] == [96, 80])
        }
        #expect(server.process.isRunning, "\(server.log.suffix(2000))")
    }

    // MARK: - Async jobs

    /// Create, follow the events (at least one progress event per tile, progress strictly increasing), succeed,
    /// download.
    @Test func asyncJobStreamsProgressPerTile() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"))
        // The only worker is kept busy by a slow job until the stream below is connected, so that the stream sees
        // the job's every tile: a small job alone can finish before curl has subscribed.
        let blocker = try RolesAndCrashTests.slowJob(server, scratch: scratch)
        _ = try waitForJob(server, blocker, token: ServerFixtures.tokenA) { $0["status"] as? String == "running" }
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 96, height: 64, in: scratch)))
        let created = try HTTP.request(
            "POST", "\(server.base)/jobs", token: ServerFixtures.tokenA,
            body: HTTP.json(["image": png.base64EncodedString(), "scale": 2, "tile": 32]),
            contentType: "application/json")
        #expect(created.status == 202, "\(String(decoding: created.body, as: UTF8.self))")
        let id = try #require(created.json["id"] as? String)
        #expect(created.json["status_url"] as? String == "\(server.base)/jobs/\(id)")
        let eventsURL = try #require(created.json["events_url"] as? String)

        let output = LockedLines()
        let finished = DispatchSemaphore(value: 0)
        let reader = Thread {
            let stream = try? runTool([
                "curl", "-sN", "--max-time", "60", "-H",
                "Authorization: Bearer \(ServerFixtures.tokenA)", eventsURL,
            ])
            output.append(stream?.stdout ?? "")
            finished.signal()
        }
        reader.start()
        Thread.sleep(forTimeInterval: 1.5)  // curl has long subscribed; the job is still queued
        let canceled = try HTTP.request("DELETE", "\(server.base)/jobs/\(blocker)", token: ServerFixtures.tokenA)
        #expect(canceled.status == 200)
        finished.wait()
        var events: [(name: String, data: [String: Any])] = []
        var name = ""
        for line in output.text.split(separator: "\n") {
            if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
            if line.hasPrefix("data: "),
                let object = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
            {
                events.append((name, object))
            }
        }
        let progress = events.filter { $0.name == "progress" }
        let tiles = progress.compactMap { $0.data["tiles_total"] as? Int }.max() ?? 0
        #expect(tiles >= 6, "a 96x64 image in 32 px tiles has at least 6 tiles; events: \(events.map(\.name))")
        let tileEvents = progress.filter { $0.data["tiles_done"] != nil && $0.data["step"] as? String == "infer" }
        #expect(
            Set(tileEvents.compactMap { $0.data["tiles_done"] as? Int }).count >= tiles,
            "one progress event per tile: \(tileEvents.map { $0.data["tiles_done"] ?? "-" })")
        let fractions = progress.compactMap { $0.data["progress"] as? Double }
        #expect(zip(fractions, fractions.dropFirst()).allSatisfy { $0 < $1 }, "strictly increasing: \(fractions)")
        #expect(events.last?.name == "done" && events.last?.data["status"] as? String == "succeeded")

        let job = try HTTP.request("GET", "\(server.base)/jobs/\(id)", token: ServerFixtures.tokenA).json
        #expect(job["status"] as? String == "succeeded" && job["progress"] as? Double == 1)
        let link = try #require(job["download_url"] as? String)
        let info = try pillowInfo(try HTTP.request("GET", link).body, in: scratch)
        #expect(info.width == 192 && info.height == 128)
    }

    /// Another token sees none of it; cancel stops a job.
    @Test func jobsArePrivateAndCancelable() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"))
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 160, height: 120, in: scratch)))
        // A slow job: the big model, small tiles.
        let created = try HTTP.request(
            "POST", "\(server.base)/jobs", token: ServerFixtures.tokenA,
            body: HTTP.json([
                "image": png.base64EncodedString(), "model": "realesrgan-x4plus",
                "tile": 32,
            ]), contentType: "application/json")
        let id = try #require(created.json["id"] as? String, "\(created.json)")
        for (method, path) in [("GET", "/jobs/\(id)"), ("DELETE", "/jobs/\(id)"), ("GET", "/jobs/\(id)/events")] {
            let other = try HTTP.request(method, server.base + path, token: ServerFixtures.tokenB)
            #expect(other.status == 404 && other.errorCode == "not_found", "\(method) \(path) as another token")
        }
        _ = try waitForJob(server, id, token: ServerFixtures.tokenA) { $0["status"] as? String == "running" }
        let canceled = try HTTP.request("DELETE", "\(server.base)/jobs/\(id)", token: ServerFixtures.tokenA)
        #expect(canceled.status == 200 && canceled.json["status"] as? String == "canceled")
        // The worker notices and moves on: a new job after it runs to completion.
        let small = try Data(
            contentsOf: URL(fileURLWithPath: try pillowPNG(width: 16, height: 16, in: scratch, name: "s.png")))
        let next = try HTTP.request(
            "POST", "\(server.base)/jobs", token: ServerFixtures.tokenA,
            body: HTTP.json(["image": small.base64EncodedString()]), contentType: "application/json")
        let nextID = try #require(next.json["id"] as? String)
        let finished = try waitForJob(server, nextID, token: ServerFixtures.tokenA, timeout: 60)
        #expect(finished["status"] as? String == "succeeded")
        let after = try HTTP.request("GET", "\(server.base)/jobs/\(id)", token: ServerFixtures.tokenA).json
        #expect(after["status"] as? String == "canceled" && after["download_url"] == nil)
        #expect(
            (try? FileManager.default.contentsOfDirectory(atPath: scratch.path("data/results")))?
                .contains { $0.hasPrefix(id) } != true, "no result file for the canceled job")
    }

    // MARK: - Documents

    /// The `/openapi.json` the executable serves is valid OpenAPI 3, as openapi-spec-validator reads it. (Its routes
    /// are checked against the app in `DocumentsTests`, in process.)
    @Test func openAPIDocumentIsValid() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"))
        let document = try HTTP.request("GET", "\(server.base)/openapi.json")
        #expect(document.status == 200)
        try document.body.write(to: URL(fileURLWithPath: scratch.path("openapi.json")))
        let validation = try runTool([
            "python3", "-c",
            """
            import json; from openapi_spec_validator import validate
            validate(json.load(open('\(scratch.path("openapi.json"))'))); print('valid')
            """,
        ])
        #expect(validation.stdout.contains("valid"), "\(validation.stderr)")
    }
}
