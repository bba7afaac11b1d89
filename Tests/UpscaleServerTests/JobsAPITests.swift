import Foundation
import HTTPTypes
import JobStore
import TestSupport
import Testing
import UpscaleServer

/// Jobs through the HTTP surface, with a stand-in for the worker (``InProcessServer/completeNextJob(failWith:)``):
/// the old service's synchronous call, async jobs, privacy between tokens, cancelation, uploads in three forms,
/// signed links, event streams and usage.
@Suite struct JobsAPITests {
    static let token = InProcessServer.tokenA

    /// The old service's call: `POST /upscale` waits for the job and answers with its fields; the link downloads
    /// exactly the bytes the worker stored.
    @Test func synchronousUpscaleAndDownload() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            let worker = Task {
                while try await server.completeNextJob() == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            let answer = try await client.call(
                .post, "/upscale", token: Self.token,
                json: [
                    "image": Data(testPNG(width: 36, height: 28)).base64EncodedString(),
                    "scale": 2,
                ])
            try await worker.value
            #expect(answer.status == 200, "\(answer.text)")
            for field in ["download_url", "file_id", "original_size", "upscaled_size", "expires_at", "output_format"] {
                #expect(answer.json[field] != nil, "missing \(field) in \(answer.text)")
            }
            #expect(answer.json["original_size"] as? [Int] == [36, 28])
            #expect(answer.json["upscaled_size"] as? [Int] == [72, 56])
            let link = try #require(answer.json["download_url"] as? String)
            #expect(link.hasPrefix("http://upscaler.test/download/"), "built from --public-url: \(link)")
            let download = try await client.call(.get, String(link.dropFirst("http://upscaler.test".count)))
            #expect(download.status == 200)
            #expect(
                download.body
                    == TestPNG.encode(
                        width: 72, height: 56, colorType: .gray,
                        samples: [UInt16](repeating: 128, count: 72 * 56)))
            #expect(download.header("Content-Type") == "image/png")
            #expect(download.header("Content-Disposition")?.hasPrefix("attachment; filename=\"upscaled-") == true)
        }
    }

    /// A job is visible to its own token only; another token gets 404 for each of its paths. Canceling a queued job
    /// makes it final at once, and a worker never gets it afterwards.
    @Test func jobsArePrivateAndCancelable() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            let created = try await client.call(
                .post, "/jobs", token: Self.token,
                json: ["image": Data(testPNG(width: 16, height: 16)).base64EncodedString()])
            #expect(created.status == 202, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.json["status"] as? String == "queued")
            for (method, path) in [("GET", "/jobs/\(id)"), ("DELETE", "/jobs/\(id)"), ("GET", "/jobs/\(id)/events")] {
                let other = try await client.call(.init(method)!, path, token: InProcessServer.tokenB)
                #expect(other.status == 404 && other.errorCode == "not_found", "\(method) \(path) as another token")
            }
            let canceled = try await client.call(.delete, "/jobs/\(id)", token: Self.token)
            #expect(canceled.status == 200 && canceled.json["status"] as? String == "canceled", "\(canceled.text)")
            #expect(try await server.completeNextJob() == nil, "a canceled job is never claimed")
            let after = try await client.call(.get, "/jobs/\(id)", token: Self.token)
            #expect(after.json["status"] as? String == "canceled" && after.json["download_url"] == nil)
            #expect((after.json["error"] as? [String: Any])?["code"] as? String == "canceled")
        }
    }

    /// A raw image body with query parameters and a multipart form are accepted as well as JSON, and carry their
    /// options into the job.
    @Test func rawAndMultipartUploads() async throws {
        let server = try InProcessServer()
        let png = testPNG(width: 24, height: 20)
        try await server.test { client in
            let raw = try await client.call(
                .post, "/jobs?scale=3&output_ext=webp", token: Self.token, body: png,
                contentType: "image/png")
            let rawID = try #require(raw.json["id"] as? String, "\(raw.text)")
            let boundary = "upscaler-test-boundary"
            var form = Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n".utf8)
            form += Array("Content-Type: image/png\r\n\r\n".utf8) + png + Array("\r\n".utf8)
            form += Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"scale\"\r\n\r\n2\r\n--\(boundary)--\r\n".utf8)
            let multipart = try await client.call(
                .post, "/jobs", token: Self.token, body: form,
                contentType: "multipart/form-data; boundary=\(boundary)")
            let formID = try #require(multipart.json["id"] as? String, "\(multipart.text)")
            try await server.completeNextJob()
            try await server.completeNextJob()
            let first = try await client.call(.get, "/jobs/\(rawID)", token: Self.token).json
            #expect(
                first["upscaled_size"] as? [Int] == [72, 60] && first["output_format"] as? String == "webp", "\(first)")
            let second = try await client.call(.get, "/jobs/\(formID)", token: Self.token).json
            #expect(second["upscaled_size"] as? [Int] == [48, 40], "\(second)")
        }
    }

    /// Tampered links give 403 (signature, expiry, file id, or none at all); a link past its expiry gives 410.
    @Test func signedLinks() async throws {
        let server = try InProcessServer()
        let image = Data(testPNG(width: 8, height: 8)).base64EncodedString()
        try await server.test { client in
            /// A finished job's download path; `resultTTL` below zero makes a link that has already expired.
            func finishedLink(resultTTL: Double) async throws -> (id: String, link: String) {
                let created = try await client.call(.post, "/jobs", token: Self.token, json: ["image": image])
                let id = try #require(created.json["id"] as? String)
                try await server.completeNextJob(resultTTL: resultTTL)
                let job = try await client.call(.get, "/jobs/\(id)", token: Self.token).json
                let link = try #require(job["download_url"] as? String, "\(job)")
                return (id, String(link.dropFirst("http://upscaler.test".count)))
            }
            let (id, link) = try await finishedLink(resultTTL: 3600)
            #expect(try await client.call(.get, link).status == 200)
            let signature = try #require(URLComponents(string: link)?.queryItems?.first { $0.name == "sig" }?.value)
            let flipped =
                String(signature.prefix(10)) + (signature.dropFirst(10).first == "0" ? "1" : "0")
                + signature.dropFirst(11)
            #expect(try await client.call(.get, link.replacingOccurrences(of: signature, with: flipped)).status == 403)
            let expires = try #require(URLComponents(string: link)?.queryItems?.first { $0.name == "expires" }?.value)
            let later = link.replacingOccurrences(of: "expires=\(expires)", with: "expires=\(Int(expires)! + 3600)")
            #expect(try await client.call(.get, later).status == 403, "a longer expiry needs a new signature")
            let otherFile = link.replacingOccurrences(of: "/download/\(id)", with: "/download/\(String(id.reversed()))")
            #expect(try await client.call(.get, otherFile).status == 403)
            #expect(try await client.call(.get, "/download/\(id)").status == 403, "no signature")
            let (_, past) = try await finishedLink(resultTTL: -60)
            let expired = try await client.call(.get, past)
            #expect(expired.status == 410 && expired.errorCode == "expired", "\(expired.text)")
        }
    }

    /// A failed job reports its code, mapped to the status the old service used, through `GET /jobs/{id}`.
    @Test(arguments: [
        ("invalid_image", "invalid_image"), ("model_unavailable", "model_unavailable"),
        ("worker_lost", "worker_lost"), ("internal", "internal"),
    ])
    func failedJobsReportTheirCode(stored: String, shown: String) async throws {
        let server = try InProcessServer()
        try await server.test { client in
            let id = try await client.createJob(side: 8)
            try await server.completeNextJob(failWith: .init(stored: stored))
            let job = try await client.call(.get, "/jobs/\(id)", token: Self.token).json
            #expect(job["status"] as? String == "failed")
            #expect((job["error"] as? [String: Any])?["code"] as? String == shown, "\(job)")
        }
    }

    /// The event stream of a finished job replays its state and ends with `done`.
    @Test func eventStreamOfAFinishedJob() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            let id = try await client.createJob(side: 8)
            try await server.completeNextJob()
            let events = try await client.call(.get, "/jobs/\(id)/events", token: Self.token)
            #expect(events.status == 200 && events.header("Content-Type")?.hasPrefix("text/event-stream") == true)
            #expect(events.text.contains("event: done"), "\(events.text)")
            #expect(events.text.contains("\"status\":\"succeeded\""), "\(events.text)")
        }
    }

    /// Limits on queued work answer 429 `too_many_jobs` per token and 503 `queue_full` in all, with Retry-After;
    /// the request rate limit answers 429 `rate_limited`. Usage counts each token apart.
    @Test func queueAndRateLimits() async throws {
        let server = try InProcessServer {
            $0.maxJobsPerToken = 2
            $0.maxQueue = 3
        }
        let image = Data(testPNG(width: 8, height: 8)).base64EncodedString()
        try await server.test { client in
            for _ in 0..<2 {
                #expect(try await client.call(.post, "/jobs", token: Self.token, json: ["image": image]).status == 202)
            }
            let perToken = try await client.call(.post, "/jobs", token: Self.token, json: ["image": image])
            #expect(
                perToken.status == 429 && perToken.errorCode == "too_many_jobs" && perToken.header("Retry-After") != nil
            )
            #expect(
                try await client.call(.post, "/jobs", token: InProcessServer.tokenB, json: ["image": image]).status
                    == 202)
            let full = try await client.call(.post, "/jobs", token: InProcessServer.tokenB, json: ["image": image])
            #expect(full.status == 503 && full.errorCode == "queue_full" && full.header("Retry-After") != nil)
            let usage = try await client.call(.get, "/usage", token: InProcessServer.tokenB)
            #expect(usage.status == 200 && (usage.json["requests"] as? Int ?? 0) >= 2, "\(usage.text)")
        }
        let limited = try InProcessServer { $0.rateLimit = .init(burst: 2, perSecond: 0.01) }
        try await limited.test { client in
            for _ in 0..<2 { #expect(try await client.call(.get, "/usage", token: Self.token).status == 200) }
            let refused = try await client.call(.get, "/usage", token: Self.token)
            #expect(
                refused.status == 429 && refused.errorCode == "rate_limited" && refused.header("Retry-After") != nil)
            #expect(try await client.call(.get, "/usage", token: InProcessServer.tokenB).status == 200, "per token")
        }
    }
}
