import Foundation
import Testing

/// Process-level behaviour: a killed server loses no job, the api role runs without models, a separate worker
/// shares its store, and SIGTERM drains.
@Suite(.enabled(if: ServerFixtures.ready, "needs the upscaler executable and realesr-animevideov3"), .serialized)
struct RolesAndCrashTests {
    /// A job slow enough to be killed mid-run: the big model with small tiles.
    static func slowJob(_ server: TestServer, scratch: Scratch) throws -> String {
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 160, height: 128, in: scratch)))
        let created = try HTTP.request(
            "POST", "\(server.base)/jobs", token: ServerFixtures.tokenA,
            body: HTTP.json([
                "image": png.base64EncodedString(), "model": "realesrgan-x4plus",
                "tile": 32, "scale": 2,
            ]), contentType: "application/json")
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
        let created = try HTTP.request(
            "POST", "\(api.base)/jobs", token: ServerFixtures.tokenA,
            body: HTTP.json(["image": png.base64EncodedString(), "scale": 2]),
            contentType: "application/json")
        let id = try #require(created.json["id"] as? String)
        Thread.sleep(forTimeInterval: 1)
        #expect(
            try HTTP.request("GET", "\(api.base)/jobs/\(id)", token: ServerFixtures.tokenA).json["status"] as? String
                == "queued")
        #expect(!api.log.contains("worker ready"), "the api role loads no model")

        let worker = try TestServer(role: "worker", dataDirectory: data)
        // An optimised build may release a value after its last use, and a released TestServer kills its process.
        try withExtendedLifetime(worker) {
            let job = try waitForJob(api, id, token: ServerFixtures.tokenA, timeout: 60)
            #expect(job["status"] as? String == "succeeded" && job["upscaled_size"] as? [Int] == [40, 36])
            #expect(try HTTP.request("GET", "\(api.base)/health/ready").status == 200)
        }
    }

    /// With no worker, jobs wait: past the per-token cap the token gets 429, past the global limit everyone gets
    /// 503, both with Retry-After; and the queue depth shows in /metrics. On both stores.
    @Test(arguments: StoreKind.shared)
    func fullQueueAnswers429And503(_ kind: StoreKind) throws {
        let scratch = try Scratch()
        let api = try TestServer(
            role: "api", dataDirectory: scratch.path("data"),
            arguments: ["--max-jobs-per-token", "2", "--max-queue", "3"] + (try storeArguments(kind)))
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 8, height: 8, in: scratch)))
        func submit(_ token: String) throws -> HTTPResult {
            try HTTP.request(
                "POST", "\(api.base)/jobs", token: token, body: HTTP.json(["image": png.base64EncodedString()]),
                contentType: "application/json")
        }
        #expect(try submit(ServerFixtures.tokenA).status == 202)
        #expect(try submit(ServerFixtures.tokenA).status == 202)
        let perToken = try submit(ServerFixtures.tokenA)
        #expect(
            perToken.status == 429 && perToken.errorCode == "too_many_jobs" && perToken.header("Retry-After") != nil)
        #expect(try submit(ServerFixtures.tokenB).status == 202)
        let full = try submit(ServerFixtures.tokenB)
        #expect(full.status == 503 && full.errorCode == "queue_full" && full.header("Retry-After") != nil)
        let metrics = String(decoding: try HTTP.request("GET", "\(api.base)/metrics").body, as: UTF8.self)
        #expect(
            metrics.contains("upscaler_queue_depth 3"),
            "\(metrics.split(separator: "\n").filter { $0.contains("queue") })")
        // 429 and 503 are logged without the token or the image.
        #expect(!api.log.contains(ServerFixtures.tokenA) && !api.log.contains(ServerFixtures.tokenB))
        #expect(!api.log.contains(String(png.base64EncodedString().prefix(40))))
    }

    /// Two api processes on one store enforce one budget per token: the server's default for a token from
    /// `VALID_TOKENS`, none for a tokens-file line that says `off`, and a line's own limit. Every authenticated answer
    /// carries `RateLimit-Policy` and `RateLimit`; the request past the budget gets 429 with `Retry-After`.
    @Test(arguments: StoreKind.shared)
    func rateLimitsAreSharedByEveryApiProcess(_ kind: StoreKind) throws {
        let scratch = try Scratch()
        let tokenC = "test-token-charlie-5555555555"
        let tokensFile = scratch.path("tokens")
        try """
        # name:sha256[:limit]
        bravo:\(try tokenDigest(ServerFixtures.tokenB)):off
        charlie:\(try tokenDigest(tokenC)):2/min
        """.write(toFile: tokensFile, atomically: true, encoding: .utf8)
        let store = try storeArguments(kind)
        let shared = scratch.path("data")
        func start() throws -> TestServer {
            try TestServer(
                role: "api", dataDirectory: shared,
                arguments: [
                    "--rate-limit", "4/min", "--tokens-file", tokensFile,
                ] + store,
                environment: ["VALID_TOKENS": ServerFixtures.tokenA])
        }
        let apis = [try start(), try start()]
        // Both processes must live to the end (an optimised build may release the array after its last use).
        defer { withExtendedLifetime(apis) {} }
        func usage(_ index: Int, _ token: String) throws -> HTTPResult {
            try HTTP.request("GET", "\(apis[index % 2].base)/usage", token: token)
        }

        // alpha: the default of 4 a minute, drawn down through both processes alternately.
        var remaining: [String] = []
        for index in 0..<4 {
            let answer = try usage(index, ServerFixtures.tokenA)
            #expect(answer.status == 200)
            #expect(answer.header("RateLimit-Policy") == "\"requests\";q=4;w=60")
            remaining.append(answer.header("RateLimit") ?? "none")
        }
        #expect(remaining.map { $0.components(separatedBy: ";")[1] } == ["r=3", "r=2", "r=1", "r=0"], "\(remaining)")
        let refused = try usage(4, ServerFixtures.tokenA)
        #expect(refused.status == 429 && refused.errorCode == "rate_limited")
        let wait = try #require(refused.header("Retry-After").flatMap(Int.init))
        #expect((1...15).contains(wait), "one request regains in 15 s: \(wait)")
        #expect(refused.header("RateLimit")?.hasPrefix("\"requests\";r=0;t=") == true)

        // bravo: no limit, and no fields.
        for index in 0..<8 {
            let answer = try usage(index, ServerFixtures.tokenB)
            #expect(answer.status == 200 && answer.header("RateLimit") == nil)
        }
        // charlie: its own 2 a minute.
        #expect(try usage(0, tokenC).status == 200)
        let second = try usage(1, tokenC)
        #expect(second.status == 200 && second.header("RateLimit-Policy") == "\"requests\";q=2;w=60")
        #expect(try usage(0, tokenC).status == 429)
        // Routes that need no token are not limited, even when an exhausted token comes along.
        let health = try HTTP.request("GET", "\(apis[0].base)/health", token: ServerFixtures.tokenA)
        #expect(health.status == 200 && health.header("RateLimit") == nil)
        #expect(try usage(1, ServerFixtures.tokenA).status == 429)
    }

    /// SIGTERM while idle: the process drains and exits 0 promptly.
    @Test func sigtermExitsCleanly() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"))
        #expect(try HTTP.request("GET", "\(server.base)/health").status == 200)
        #expect(server.terminate(timeout: 15) == 0, "exit status after SIGTERM; log:\n\(server.log.suffix(2000))")
    }
}

/// Several api and worker processes on one PostgreSQL: the scale-out shape. Needs `UPSCALER_TEST_DATABASE_URL`.
@Suite(
    .enabled(if: ServerFixtures.ready && StoreKind.postgresURL != nil, "needs PostgreSQL (scripts/test.sh starts one)"),
    .serialized)
struct ScaleOutTests {
    /// 2 api and 3 worker processes share one database (each its own schema-scoped URL and data folder). 30 small
    /// jobs go in through both apis; one worker is killed with SIGKILL while it holds a slow job and another is sent
    /// SIGTERM while they run. Every job ends succeeded with exactly one stored result, the slow job after a second
    /// attempt, and every result downloads from either api.
    @Test func jobsCompleteExactlyOnceAcrossProcesses() throws {
        let scratch = try Scratch()
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let base = try #require(StoreKind.postgresURL)
        let url = base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
        let psqlURL = base.components(separatedBy: "?")[0]
        let environment = [
            "VALID_TOKENS": ServerFixtures.tokenA, "UPSCALER_SIGNING_KEY": String(repeating: "ab", count: 32),
        ]
        func start(_ role: String, _ name: String) throws -> TestServer {
            try TestServer(
                role: role, dataDirectory: scratch.path(name),
                arguments: [
                    // A 10 s lease: with 2 s, a victim starved of CPU by parallel tests lost its slow job to another
                    // worker before the kill. The killed worker's job is taken again 10 s after the kill.
                    "--database", url, "--lease", "10", "--model", "realesrgan-x4plus", "--max-jobs-per-token", "40",
                ],
                environment: environment)
        }
        func submit(_ api: TestServer, _ png: Data) throws -> String {
            let created = try HTTP.request(
                "POST", "\(api.base)/jobs", token: ServerFixtures.tokenA,
                body: HTTP.json(["image": png.base64EncodedString(), "scale": 2]),
                contentType: "application/json")
            return try #require(created.json["id"] as? String, "\(created.json)")
        }
        func status(_ id: String) throws -> String {
            try runTool([
                "psql", psqlURL, "-tAc", "SELECT status || ' ' || lease_owner FROM \(schema).jobs WHERE id = '\(id)'",
            ])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let apis = [try start("api", "api1"), try start("api", "api2")]
        // The victim starts alone and takes a slow job (four x4plus tiles on one thread, many seconds) that cannot
        // finish before the kill: a small job could end between the check that it is held and the signal.
        let victim = try start("worker", "w1")
        let slowPNG = try Data(
            contentsOf: URL(
                fileURLWithPath: try pillowPNG(
                    width: 256, height: 256, in: scratch,
                    name: "slow.png")))
        let slow = try submit(apis[0], slowPNG)
        let victimPID = victim.process.processIdentifier
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        while !(seen.hasPrefix("running ") && seen.contains("-\(victimPID)-")) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            seen = try status(slow)
        }
        try #require(
            seen.hasPrefix("running ") && seen.contains("-\(victimPID)-"),
            "worker 1 never took the slow job: \(seen)")
        let workers = [victim, try start("worker", "w2"), try start("worker", "w3")]
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 48, height: 40, in: scratch)))
        var ids: [String] = []
        for index in 0..<30 { ids.append(try submit(apis[index % 2], png)) }
        // The last worker must outlive every check: an optimised build may release the array after its last use,
        // and a released TestServer kills its process (the job it held would then wait forever).
        try withExtendedLifetime(workers) {
            // Let the other workers get going, then take two workers away: the victim without warning while it still
            // holds the slow job, one politely.
            _ = try waitForJob(apis[0], ids[2], token: ServerFixtures.tokenA, timeout: 60)
            let before = try status(slow)
            try #require(
                before.hasPrefix("running ") && before.contains("-\(victimPID)-"),
                "the slow job should still be running on worker 1: \(before)")
            workers[0].kill9()
            #expect(workers[1].terminate(timeout: 60) == 0, "SIGTERM drains and exits 0")

            for (index, id) in ids.enumerated() {
                let job = try waitForJob(apis[index % 2], id, token: ServerFixtures.tokenA, timeout: 180)
                #expect(job["status"] as? String == "succeeded", "\(id): \(job)")
                let link = try #require(job["download_url"] as? String)
                for api in apis {
                    let path = String(link[link.range(of: "/download/")!.lowerBound...])
                    let download = try HTTP.request("GET", api.base + path)
                    #expect(download.status == 200, "\(id) from \(api.base)")
                    let info = try pillowInfo(download.body, in: scratch)
                    #expect(info.width == 96 && info.height == 80)
                }
            }
            // The slow job the killed worker held was taken again and finished.
            let slowJob = try waitForJob(apis[1], slow, token: ServerFixtures.tokenA, timeout: 180)
            #expect(slowJob["status"] as? String == "succeeded", "\(slowJob)")
            let retaken = try runTool([
                "psql", psqlURL, "-tAc", "SELECT attempts FROM \(schema).jobs WHERE id = '\(slow)'",
            ])
            #expect(Int(retaken.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 2, "\(retaken.stdout)")
            // Exactly one result per job: no lost job and no duplicate.
            let counts = try runTool([
                "psql", psqlURL, "-tA", "-c",
                "SELECT COUNT(*), COUNT(DISTINCT split_part(key, '-', 1)) FROM \(schema).blobs WHERE key LIKE 'results/%'",
            ])
            #expect(
                counts.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "31|31",
                "\(counts.stdout) \(counts.stderr)")
        }
    }

    /// An idle worker that looks at the store only every 60 s still starts a job queued by another process at
    /// once: the queue's NOTIFY wakes it.
    @Test func notificationWakesAnIdleWorker() throws {
        let scratch = try Scratch()
        let store = try storeArguments(.postgres)
        let api = try TestServer(role: "api", dataDirectory: scratch.path("api"), arguments: store)
        let worker = try TestServer(
            role: "worker", dataDirectory: scratch.path("worker"),
            arguments: store + ["--poll-interval", "60"])
        try withExtendedLifetime(worker) {
            Thread.sleep(forTimeInterval: 2)  // past the worker's first look
            let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 12, height: 10, in: scratch)))
            let started = Date()
            let created = try HTTP.request(
                "POST", "\(api.base)/jobs", token: ServerFixtures.tokenA,
                body: HTTP.json(["image": png.base64EncodedString(), "scale": 2]),
                contentType: "application/json")
            let id = try #require(created.json["id"] as? String, "\(created.json)")
            let job = try waitForJob(api, id, token: ServerFixtures.tokenA, timeout: 50)
            #expect(job["status"] as? String == "succeeded")
            #expect(Date().timeIntervalSince(started) < 20, "woken, not polled")
        }
    }

    /// `--blob-dir`: with PostgreSQL holding the queue, uploads and results can live in a folder every process
    /// mounts instead. The result is a file there, the database's blob table stays empty, and the download works.
    @Test func blobsInASharedFolderInsteadOfTheDatabase() throws {
        let scratch = try Scratch()
        let store = try storeArguments(.postgres)
        let folder = scratch.path("shared-blobs")
        let server = try TestServer(dataDirectory: scratch.path("data"), arguments: store + ["--blob-dir", folder])
        let png = try Data(contentsOf: URL(fileURLWithPath: try pillowPNG(width: 20, height: 16, in: scratch)))
        let answer = try HTTP.request(
            "POST", "\(server.base)/upscale", token: ServerFixtures.tokenA,
            body: HTTP.json(["image": png.base64EncodedString(), "scale": 2]),
            contentType: "application/json")
        #expect(answer.status == 200, "\(answer.json)")
        let link = try #require(answer.json["download_url"] as? String)
        let download = try HTTP.request("GET", link)
        #expect(download.status == 200)
        let results = try FileManager.default.contentsOfDirectory(atPath: folder + "/results").filter {
            !$0.hasPrefix(".")
        }
        #expect(results.count == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/results/" + results[0])) == download.body)
        let url = store[1]
        let schema = String(url[url.range(of: "schema=")!.upperBound...])
        let rows = try runTool([
            "psql", try #require(StoreKind.postgresURL), "-tAc", "SELECT COUNT(*) FROM \(schema).blobs",
        ])
        #expect(rows.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(rows.stdout) \(rows.stderr)")
    }

    /// `tools/load_test.py`: 100 clients for 60 s against 2 api and 2 worker processes. No 5xx, and every 429 or 503
    /// says when to come back. The figures it prints (throughput, /health latency, memory) are reported, not asserted.
    @Test func boundedLoad() throws {
        let script = ServerFixtures.repositoryRoot.appendingPathComponent("tools/load_test.py").path
        let result = try runTool([
            "python3", script, "--bin", ServerFixtures.executable!,
            "--database", try #require(StoreKind.postgresURL), "--clients", "100", "--seconds", "60",
        ])
        print("load test: \(result.stdout)")
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr.suffix(2000))")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["5xx"] as? Int == 0 && report?["retry_after_missing"] as? Int == 0)
        #expect((report?["jobs_completed_per_second"] as? Double ?? 0) > 0)
    }
}
