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
    }

    // MARK: - Errors

    /// Each bad request gets its status and a JSON error, and the server goes on serving.
    @Test func errorsAreJSONWithTheRightStatus() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"), arguments: ["--max-body-mb", "1"])
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 20, height: 16, in: scratch)))
        let good = png.base64EncodedString()
        let url = "\(server.base)/upscale"
        let token = ServerFixtures.tokenA
        struct Case {
            let name: String
            let method: String
            let token: String?
            let body: Data?
            let contentType: String?
            let status: Int
            let code: String
        }
        let corruptPNG = Data(png.prefix(png.count / 2)).base64EncodedString()
        let cases = [
            Case(
                name: "no token", method: "POST", token: nil, body: HTTP.json(["image": good]),
                contentType: "application/json", status: 401, code: "unauthorized"),
            Case(
                name: "wrong token", method: "POST", token: "not-a-token", body: HTTP.json(["image": good]),
                contentType: "application/json", status: 401, code: "unauthorized"),
            Case(
                name: "scale 3", method: "POST", token: token, body: HTTP.json(["image": good, "scale": 3]),
                contentType: "application/json", status: 400, code: "invalid_scale"),
            Case(
                name: "bad base64", method: "POST", token: token, body: HTTP.json(["image": "%%%not base64%%%"]),
                contentType: "application/json", status: 400, code: "invalid_base64"),
            Case(
                name: "bad output_ext", method: "POST", token: token,
                body: HTTP.json(["image": good, "output_ext": "bmp"]), contentType: "application/json", status: 400,
                code: "invalid_output_ext"),
            Case(
                name: "missing image", method: "POST", token: token, body: HTTP.json(["scale": 4]),
                contentType: "application/json", status: 400, code: "invalid_json"),
            Case(
                name: "bad JSON", method: "POST", token: token, body: Data("{\"image\": ".utf8),
                contentType: "application/json", status: 400, code: "invalid_json"),
            Case(
                name: "oversize body", method: "POST", token: token, body: Data(repeating: 0x41, count: 2 << 20),
                contentType: "application/json", status: 413, code: "too_large"),
            Case(
                name: "not an image", method: "POST", token: token,
                body: HTTP.json(["image": Data("hello, world".utf8).base64EncodedString()]),
                contentType: "application/json", status: 415, code: "unsupported_media_type"),
            Case(
                name: "corrupt image", method: "POST", token: token, body: HTTP.json(["image": corruptPNG]),
                contentType: "application/json", status: 400, code: "invalid_image"),
            Case(
                name: "huge pixel claim", method: "POST", token: token,
                body: HTTP.json(["image": Data(TestPNG.hugeHeader()).base64EncodedString()]),
                contentType: "application/json", status: 413, code: "too_many_pixels"),
            Case(
                name: "PUT", method: "PUT", token: token, body: nil, contentType: nil, status: 405,
                code: "method_not_allowed"),
            Case(
                name: "DELETE", method: "DELETE", token: nil, body: nil, contentType: nil, status: 405,
                code: "method_not_allowed"),
        ]
        for item in cases {
            let result = try HTTP.request(
                item.method, url, token: item.token, body: item.body, contentType: item.contentType)
            #expect(
                result.status == item.status,
                "\(item.name): \(result.status) \(String(decoding: result.body, as: UTF8.self))")
            #expect(result.errorCode == item.code, "\(item.name): \(String(decoding: result.body, as: UTF8.self))")
            #expect(result.header("Content-Type")?.hasPrefix("application/json") == true, "\(item.name)")
            #expect(!(result.errorMessage ?? "").isEmpty && result.json["detail"] != nil, "\(item.name)")
            #expect(result.header("X-Request-Id") != nil, "\(item.name)")
            if item.status == 401 { #expect(result.header("WWW-Authenticate") == "Bearer", "\(item.name)") }
            if item.status == 405 { #expect(result.header("Allow")?.contains("POST") == true, "\(item.name)") }
            // Still serving.
            #expect(try HTTP.request("GET", "\(server.base)/health").status == 200, "after \(item.name)")
        }
        let missing = try HTTP.request("GET", "\(server.base)/no/such/path")
        #expect(missing.status == 404 && missing.errorCode == "not_found")
        #expect(server.process.isRunning)
        // The log has every refusal, and never a token (one of them was the right one) or the image.
        let log = server.log
        #expect(
            log.contains("request refused") && !log.contains(ServerFixtures.tokenA)
                && !log.contains(String(good.prefix(40))))
    }

    @Test func usageHintAndInfo() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"))
        let hint = try HTTP.request("GET", "\(server.base)/upscale")
        #expect(hint.status == 200 && hint.json["method"] as? String == "POST")
        #expect((hint.json["example"] as? String)?.contains("curl") == true)
        let info = try HTTP.request("GET", "\(server.base)/")
        #expect(info.status == 200 && info.json["name"] as? String == "Upscaler")
        let models = (info.json["models"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
        #expect(models.contains("realesrgan-x4plus") && models.contains("realesr-animevideov3"))
        // A browser asking for / is sent to the page; curl (Accept: */*) keeps getting JSON.
        let browser = try runTool([
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
            "-H", "Accept: text/html,application/xhtml+xml,*/*;q=0.8", "\(server.base)/",
        ])
        #expect(browser.stdout == "303 \(server.base)/ui", "\(browser.stdout)")
        let curlDefault = try runTool(["curl", "-s", "\(server.base)/"])
        #expect(curlDefault.stdout.contains("\"endpoints\""))
        let page = try HTTP.request("GET", "\(server.base)/ui")
        #expect(page.status == 200 && page.header("Content-Type")?.hasPrefix("text/html") == true)
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(html.contains("id=\"token\"") && !html.contains("https://"), "self-contained, no other host")
        let health = try HTTP.request("GET", "\(server.base)/health")
        #expect(health.status == 200 && health.json["status"] as? String == "ok")
        let ready = try HTTP.request("GET", "\(server.base)/health/ready")
        #expect(ready.status == 200 && ready.json["worker"] as? Bool == true, "\(ready.json)")
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

    /// A raw image body with query parameters, and a multipart form, are accepted as well as JSON.
    @Test func rawAndMultipartUploads() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"))
        let path = try pillowPNG(width: 24, height: 20, in: scratch)
        let raw = try HTTP.request(
            "POST", "\(server.base)/jobs?scale=3&output_ext=webp", token: ServerFixtures.tokenA,
            body: try Data(contentsOf: URL(fileURLWithPath: path)), contentType: "image/png")
        let rawID = try #require(raw.json["id"] as? String, "\(raw.json)")
        let form = try runTool([
            "curl", "-s", "-H", "Authorization: Bearer \(ServerFixtures.tokenA)",
            "-F", "image=@\(path)", "-F", "scale=2", "\(server.base)/jobs",
        ])
        let formID = try #require(
            (try JSONSerialization.jsonObject(with: Data(form.stdout.utf8)) as? [String: Any])?["id"] as? String,
            "\(form.stdout)")
        let first = try waitForJob(server, rawID, token: ServerFixtures.tokenA)
        #expect(first["upscaled_size"] as? [Int] == [72, 60] && first["output_format"] as? String == "webp")
        let second = try waitForJob(server, formID, token: ServerFixtures.tokenA)
        #expect(second["upscaled_size"] as? [Int] == [48, 40])
    }

    // MARK: - Links

    /// Tampered links give 403, expired ones 410, and the sweeper deletes results after their time.
    @Test func signedLinksAndExpiry() throws {
        let scratch = try Scratch()
        let server = try TestServer(
            dataDirectory: scratch.path("data"),
            arguments: ["--result-ttl", "3", "--sweep-interval", "1"])
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 16, height: 12, in: scratch)))
        let answer = try HTTP.request(
            "POST", "\(server.base)/upscale", token: ServerFixtures.tokenA,
            body: HTTP.json(["image": png.base64EncodedString(), "scale": 2]),
            contentType: "application/json")
        #expect(answer.status == 200)
        let link = try #require(answer.json["download_url"] as? String)
        let id = try #require(answer.json["file_id"] as? String)
        #expect(try HTTP.request("GET", link).status == 200)
        let resultFile = scratch.path("data/results/\(id)-1.png")
        #expect(FileManager.default.fileExists(atPath: resultFile))

        // Same length, one hex digit changed: rejected by the HMAC comparison, not by parsing.
        let signature = try #require(URLComponents(string: link)?.queryItems?.first { $0.name == "sig" }?.value)
        let flipped =
            String(signature.prefix(10)) + (signature.dropFirst(10).first == "0" ? "1" : "0") + signature.dropFirst(11)
        let tamperedSignature = link.replacingOccurrences(of: signature, with: flipped)
        #expect(try HTTP.request("GET", tamperedSignature).status == 403)
        let components = try #require(URLComponents(string: link))
        let expires = try #require(components.queryItems?.first { $0.name == "expires" }?.value)
        let laterExpiry = link.replacingOccurrences(of: "expires=\(expires)", with: "expires=\(Int(expires)! + 3600)")
        #expect(try HTTP.request("GET", laterExpiry).status == 403, "a longer expiry needs a new signature")
        let otherFile = link.replacingOccurrences(of: "/download/\(id)", with: "/download/\(String(id.reversed()))")
        #expect(try HTTP.request("GET", otherFile).status == 403)
        #expect(try HTTP.request("GET", "\(server.base)/download/\(id)").status == 403, "no signature")

        // Temporary files a killed writer left: an hour-old one is swept, a fresh one (a write in progress) is not.
        let stale = scratch.path("data/results/.\(id)-9.png.tmp-abcdef"),
            fresh = scratch.path("data/results/.new.png.tmp-123456")
        FileManager.default.createFile(atPath: stale, contents: Data([1, 2, 3]))
        FileManager.default.createFile(atPath: fresh, contents: Data([1, 2, 3]))
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: stale)

        Thread.sleep(forTimeInterval: 5)
        #expect(!FileManager.default.fileExists(atPath: stale) && FileManager.default.fileExists(atPath: fresh))
        let expired = try HTTP.request("GET", link)
        #expect(expired.status == 410 && expired.errorCode == "expired")
        #expect(!FileManager.default.fileExists(atPath: resultFile), "the sweeper deleted the result")
        #expect(try HTTP.request("GET", "\(server.base)/jobs/\(id)", token: ServerFixtures.tokenA).status == 404)
    }

    // MARK: - Documents

    /// `/openapi.json` is valid OpenAPI 3 (checked by openapi-spec-validator), every documented route answers, and
    /// undocumented paths do not.
    @Test func openAPIDocumentIsValidAndComplete() throws {
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

        let paths = try #require(document.json["paths"] as? [String: [String: Any]])
        for (template, methods) in paths {
            let path = template.replacingOccurrences(of: "{id}", with: "0000").replacingOccurrences(
                of: "{file_id}", with: "0000")
            for method in methods.keys {
                let result = try HTTP.request(
                    method.uppercased(), server.base + path, token: ServerFixtures.tokenA,
                    body: method == "post" ? Data("{}".utf8) : nil,
                    contentType: method == "post" ? "application/json" : nil)
                #expect(
                    result.errorCode != "method_not_allowed" && !(result.errorMessage ?? "").contains("no such path"),
                    "\(method) \(template) answered \(result.status)")
            }
        }
        for path in ["/admin", "/jobs/1/2/3", "/download", "/upscale/extra", "/static/app.js"] {
            let result = try HTTP.request("GET", server.base + path)
            #expect(result.status == 404, "\(path) is not in the document, so it must not be served")
        }
        let docs = try HTTP.request("GET", "\(server.base)/docs")
        #expect(docs.status == 200 && docs.header("Content-Type")?.hasPrefix("text/html") == true)
        let html = String(decoding: docs.body, as: UTF8.self)
        #expect(html.contains("/openapi.json") && !html.contains("https://"), "the page must not need a CDN")
        let metrics = String(decoding: try HTTP.request("GET", "\(server.base)/metrics").body, as: UTF8.self)
        #expect(metrics.contains("upscaler_http_requests_total") && metrics.contains("route=\"/docs\""))
    }
}
