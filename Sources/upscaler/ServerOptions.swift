import ArgumentParser
import Foundation
import Inference
import InferenceCPU
import Logging
import UpscaleCore
import UpscaleServer

/// Flags shared by `serve`, `api` and `worker`. Each has an `UPSCALER_*` environment twin, used when the flag is not
/// given; `VALID_TOKENS` works as it did in the service this replaces.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on ($UPSCALER_HOST, default 127.0.0.1; 0.0.0.0 for every interface).")
    var host: String?

    @Option(help: "Port to listen on ($UPSCALER_PORT, default 8000; 0 picks a free one).")
    var port: Int?

    @Option(name: .customLong("data-dir"),
            help: "Job database, uploads, results and signing key ($UPSCALER_DATA_DIR, default $XDG_DATA_HOME/upscaler/data or ~/.local/share/upscaler/data).")
    var dataDir: String?

    @Option(name: .customLong("models-dir"), help: "Model folder ($UPSCALER_MODELS_DIR).")
    var modelsDir: String?

    @Option(help: "PostgreSQL URL for the queue, shared by many processes ($DATABASE_URL or $UPSCALER_DATABASE; default: SQLite in the data dir).")
    var database: String?

    @Option(name: .customLong("blob-dir"),
            help: ArgumentHelp("With --database: keep uploads and results as files in this folder, shared by every "
                + "process (NFS, a mounted volume), instead of in the database ($UPSCALER_BLOB_DIR).", valueName: "path"))
    var blobDir: String?

    @Option(name: .customLong("tokens-file"), help: "File of name:sha256 token lines ($UPSCALER_TOKENS_FILE).")
    var tokensFile: String?

    @Option(name: .customLong("public-url"),
            help: "Base URL for links in responses ($UPSCALER_PUBLIC_URL; default: from each request's Host header).")
    var publicURL: String?

    @Option(name: .customLong("max-body-mb"), help: "Largest request body in MiB ($UPSCALER_MAX_BODY_MB, default 64).")
    var maxBodyMB: Int?

    @Option(name: .customLong("max-pixels"), help: "Largest input in pixels ($UPSCALER_MAX_PIXELS, default 50000000).")
    var maxPixels: Int?

    @Option(name: .customLong("max-input-side"),
            help: "Above 2x, inputs longer than this are shrunk first ($UPSCALER_MAX_INPUT_SIDE, default 2048; 0 off).")
    var maxInputSide: Int?

    @Option(name: .customLong("wait-timeout"),
            help: "Seconds POST /upscale waits before answering 202 ($UPSCALER_WAIT_TIMEOUT, default 300).")
    var waitTimeout: Double?

    @Option(name: .customLong("result-ttl"), help: "Seconds results are kept ($UPSCALER_RESULT_TTL, default 3600).")
    var resultTTL: Double?

    @Option(name: .customLong("sweep-interval"),
            help: "Seconds between sweeps of expired results ($UPSCALER_SWEEP_INTERVAL, default 60).")
    var sweepInterval: Double?

    @Option(help: "Seconds a worker's lease on a job lasts without renewal ($UPSCALER_LEASE, default 30).")
    var lease: Double?

    @Option(name: .customLong("max-attempts"),
            help: "Times a job is tried after workers vanish before it fails ($UPSCALER_MAX_ATTEMPTS, default 3).")
    var maxAttempts: Int?

    @Option(name: .customLong("max-queue"),
            help: "Queued jobs in all before new ones get 503 ($UPSCALER_MAX_QUEUE, default 100).")
    var maxQueue: Int?

    @Option(name: [.customLong("max-jobs-per-token"), .customLong("max-queued-per-token", withSingleDash: false)],
            help: "A token's queued and running jobs before 429 ($UPSCALER_MAX_JOBS_PER_TOKEN, default 20).")
    var maxJobsPerToken: Int?

    @Option(name: .customLong("rate-limit"),
            help: ArgumentHelp("Each token's request budget, off or RATE/UNIT[,burst=N] with UNIT s, min or h; a "
                + "tokens-file line may set its own ($UPSCALER_RATE_LIMIT, default 300/min,burst=60).",
                valueName: "limit"))
    var rateLimit: String?

    @Option(help: "Threads for the model ($UPSCALER_THREADS, default all cores).")
    var threads: Int?

    @Option(help: "Model precision: fp32 or bf16 on the CPU, fp16 or fp32 on a GPU ($UPSCALER_PRECISION, default fp32 on the CPU, fp16 on a GPU that has it).")
    var precision: String?

    /// `--device` (or `UPSCALER_DEVICE`) and `--cpu-fallback`, as `upscale` and `bench` take them.
    @OptionGroup var device: DeviceOptions

    @Option(help: "Default model ($UPSCALER_MODEL, default realesrgan-x4plus).")
    var model: String?

    @Flag(name: .customLong("no-auto-fetch"),
          help: "Do not download missing models on a worker's first start ($UPSCALER_NO_AUTO_FETCH=1).")
    var noAutoFetch = false

    @Option(name: .customLong("drain-timeout"),
            help: "Seconds SIGTERM waits for a running job ($UPSCALER_DRAIN_TIMEOUT, default 120).")
    var drainTimeout: Double?

    @Option(name: .customLong("poll-interval"),
            help: "Seconds between an idle worker's looks at the store ($UPSCALER_POLL_INTERVAL, default 0.5).")
    var pollInterval: Double?

    @Option(name: .customLong("log-format"), help: "json or text ($UPSCALER_LOG_FORMAT, default json).")
    var logFormat: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error ($UPSCALER_LOG_LEVEL, default info).")
    var logLevel: String?

    func configuration(environment env: [String: String]) throws -> ServerConfiguration {
        func value<T>(_ flag: T?, _ name: String, _ parse: (String) -> T?) throws -> T? {
            if let flag { return flag }
            guard let raw = env[name], !raw.isEmpty else { return nil }
            guard let parsed = parse(raw) else { throw ValidationError("\(name)=\(raw) is not valid") }
            return parsed
        }
        let home = FileManager.default.homeDirectoryForCurrentUser
        let dataHome = env["XDG_DATA_HOME"].map { URL(fileURLWithPath: $0) } ?? home.appendingPathComponent(".local/share")
        let data = try value(dataDir, "UPSCALER_DATA_DIR") { $0 }
            .map { URL(fileURLWithPath: $0) } ?? dataHome.appendingPathComponent("upscaler/data")
        let models = try value(modelsDir, "UPSCALER_MODELS_DIR") { $0 }.map { URL(fileURLWithPath: $0) }
            ?? ModelStore.defaultDirectory(environment: env)
        var configuration = ServerConfiguration(
            dataDirectory: data, modelsDirectory: models,
            cacheDirectory: ModelStore.defaultCacheDirectory(environment: env),
            threads: try value(threads, "UPSCALER_THREADS") { Int($0) } ?? EngineOptions.defaultThreadCount)
        configuration.host = try value(host, "UPSCALER_HOST") { $0 } ?? configuration.host
        configuration.port = try value(port, "UPSCALER_PORT") { Int($0) } ?? configuration.port
        configuration.validTokens = env["VALID_TOKENS"]
        configuration.tokensFile = try value(tokensFile, "UPSCALER_TOKENS_FILE") { $0 }
        configuration.publicURL = try value(publicURL, "UPSCALER_PUBLIC_URL") { $0 }.map {
            $0.hasSuffix("/") ? String($0.dropLast()) : $0
        }
        configuration.signingKey = env["UPSCALER_SIGNING_KEY"]
        configuration.databaseURL = try value(database, "UPSCALER_DATABASE") { $0 }
            ?? env["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.blobDirectory = try value(blobDir, "UPSCALER_BLOB_DIR") { $0 }.map { URL(fileURLWithPath: $0) }
        if configuration.blobDirectory != nil && configuration.databaseURL == nil {
            throw ValidationError("--blob-dir goes with --database; without one, blobs live in --data-dir")
        }
        if let mb = try value(maxBodyMB, "UPSCALER_MAX_BODY_MB", { Int($0) }) { configuration.maxBodyBytes = mb << 20 }
        configuration.maxPixels = try value(maxPixels, "UPSCALER_MAX_PIXELS") { Int($0) } ?? configuration.maxPixels
        if let side = try value(maxInputSide, "UPSCALER_MAX_INPUT_SIDE", { Int($0) }) {
            configuration.maxInputSide = side == 0 ? nil : side
        }
        configuration.waitSeconds = try value(waitTimeout, "UPSCALER_WAIT_TIMEOUT") { Double($0) } ?? configuration.waitSeconds
        configuration.resultTTL = try value(resultTTL, "UPSCALER_RESULT_TTL") { Double($0) } ?? configuration.resultTTL
        configuration.sweepInterval = try value(sweepInterval, "UPSCALER_SWEEP_INTERVAL") { Double($0) }
            ?? configuration.sweepInterval
        configuration.leaseSeconds = try value(lease, "UPSCALER_LEASE") { Double($0) } ?? configuration.leaseSeconds
        configuration.maxAttempts = try value(maxAttempts, "UPSCALER_MAX_ATTEMPTS") { Int($0) } ?? configuration.maxAttempts
        configuration.maxQueue = try value(maxQueue, "UPSCALER_MAX_QUEUE") { Int($0) } ?? configuration.maxQueue
        // The names before the cap counted running jobs too (--max-queued-per-token) are still read.
        configuration.maxJobsPerToken = try value(maxJobsPerToken, "UPSCALER_MAX_JOBS_PER_TOKEN") { Int($0) }
            ?? value(nil, "UPSCALER_MAX_QUEUED_PER_TOKEN") { Int($0) }
            ?? configuration.maxJobsPerToken
        if let limit = rateLimit ?? env["UPSCALER_RATE_LIMIT"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do { try configuration.setRateLimit(limit) } catch let error as ConfigurationError {
                throw ValidationError(error.description)
            }
        }
        configuration.device = try device.choice(environment: env)
        if let text = try value(precision, "UPSCALER_PRECISION", { $0 }) {
            guard let chosen = Precision(rawValue: text) else {
                throw ValidationError("--precision must be fp32, bf16 (CPU) or fp16 (GPU), got '\(text)'")
            }
            configuration.precision = chosen
        }
        configuration.cpuFallback = device.cpuFallback || ["1", "true", "yes"].contains(env["UPSCALER_CPU_FALLBACK"] ?? "")
        configuration.defaultModel = try value(model, "UPSCALER_MODEL") { $0 } ?? configuration.defaultModel
        configuration.autoFetch = !(noAutoFetch || ["1", "true", "yes"].contains(env["UPSCALER_NO_AUTO_FETCH"] ?? ""))
        configuration.drainSeconds = try value(drainTimeout, "UPSCALER_DRAIN_TIMEOUT") { Double($0) }
            ?? configuration.drainSeconds
        configuration.pollInterval = try value(pollInterval, "UPSCALER_POLL_INTERVAL") { Double($0) }
            ?? configuration.pollInterval

        guard (0...65535).contains(configuration.port) else { throw ValidationError("port must be 0-65535") }
        guard configuration.maxBodyBytes > 0, configuration.maxPixels > 0, configuration.threads > 0 else {
            throw ValidationError("limits and threads must be positive")
        }
        guard (1...3600).contains(configuration.leaseSeconds), configuration.maxAttempts >= 1,
              configuration.resultTTL > 0, configuration.resultTTL <= 30 * 86400,
              (0...86400).contains(configuration.waitSeconds), configuration.sweepInterval > 0,
              configuration.sweepInterval <= 86400, configuration.pollInterval > 0, configuration.pollInterval <= 60,
              configuration.drainSeconds >= 0, configuration.drainSeconds <= 86400 else {
            throw ValidationError("out of range: lease 1-3600 s, result ttl up to 30 days, wait up to a day, "
                + "sweep interval up to a day, poll interval up to 60 s, at least 1 attempt")
        }
        guard ModelCatalog.named(configuration.defaultModel) != nil else {
            throw ValidationError("unknown model '\(configuration.defaultModel)'; see `upscaler models list`")
        }
        return configuration
    }

    func bootstrapLogging(environment env: [String: String]) {
        let format = logFormat ?? env["UPSCALER_LOG_FORMAT"] ?? "json"
        let level = Logger.Level(rawValue: logLevel ?? env["UPSCALER_LOG_LEVEL"] ?? "info") ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == "text"
                ? StreamLogHandler.standardError(label: label) : JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
