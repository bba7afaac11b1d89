import Foundation
import Inference
import JobStore
import UpscaleCore

/// Every setting of `serve`, `api` and `worker` in one table, and the one place they are resolved: a flag's value,
/// else its environment variable, else ``ServerConfiguration``'s default. `--device`, `--cpu-fallback` and the log
/// settings are shared with other commands and resolved there.
public enum ServerSettings {
    private static let defaults = ServerConfiguration(
        dataDirectory: URL(fileURLWithPath: "/"),
        modelsDirectory: URL(fileURLWithPath: "/"),
        cacheDirectory: URL(fileURLWithPath: "/"), threads: 1)

    public static let host = ServerSetting(
        "host", ["UPSCALER_HOST"], "Address to listen on",
        default: "\(defaults.host); 0.0.0.0 for every interface"
    ) { $0.host = $1 }
    public static let port = ServerSetting(
        "port", ["UPSCALER_PORT"], "Port to listen on", default: "\(defaults.port); 0 picks a free one"
    ) {
        $0.port = try int($1, "port", in: 0...65535)
    }
    public static let dataDirectory = ServerSetting(
        "data-dir", ["UPSCALER_DATA_DIR"], "Job database, uploads, results and signing key",
        default: "$XDG_DATA_HOME/upscaler/data or ~/.local/share/upscaler/data"
    ) {
        $0.dataDirectory = URL(fileURLWithPath: $1)
    }
    public static let modelsDirectory = ServerSetting(
        "models-dir", ["UPSCALER_MODELS_DIR"], "Model folder",
        default: "$XDG_DATA_HOME/upscaler/models or ~/.local/share/upscaler/models"
    ) {
        $0.modelsDirectory = URL(fileURLWithPath: $1)
    }
    public static let database = ServerSetting(
        "database", ["UPSCALER_DATABASE", "DATABASE_URL"], "PostgreSQL URL for the queue, shared by many processes",
        default: "SQLite in the data dir"
    ) { $0.databaseURL = $1 }
    public static let blobDirectory = ServerSetting(
        "blob-dir", ["UPSCALER_BLOB_DIR"],
        "With --database: keep uploads and results as files in this folder, shared by every process (NFS, a "
            + "mounted volume), instead of in the database"
    ) { $0.blobDirectory = URL(fileURLWithPath: $1) }
    public static let tokensFile = ServerSetting(
        "tokens-file", ["UPSCALER_TOKENS_FILE"], "File of name:sha256 token lines"
    ) { $0.tokensFile = $1 }
    public static let publicURL = ServerSetting(
        "public-url", ["UPSCALER_PUBLIC_URL"], "Base URL for links in responses",
        default: "from each request's Host header"
    ) { $0.publicURL = $1.hasSuffix("/") ? String($1.dropLast()) : $1 }
    public static let trustedProxies = ServerSetting(
        "trusted-proxies", ["UPSCALER_TRUSTED_PROXIES"],
        "Comma-separated IP addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed",
        default: "none"
    ) {
        $0.trustedProxies = Set(
            $1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }
    public static let idleTimeout = ServerSetting(
        "idle-timeout", ["UPSCALER_IDLE_TIMEOUT"],
        "Seconds a connection may send nothing (half a request head, a stalled body, an idle keep-alive) before it is closed",
        default: "\(format(defaults.idleTimeout))"
    ) { $0.idleTimeout = try seconds($1, "idle-timeout", in: 0.1...3600) }
    public static let maxConnectionsPerAddress = ServerSetting(
        "max-connections-per-address", ["UPSCALER_MAX_CONNECTIONS_PER_ADDRESS"],
        "Connections one client address may hold open; more are closed at once (trusted proxies are exempt)",
        default: "\(defaults.maxConnectionsPerAddress)"
    ) {
        $0.maxConnectionsPerAddress = try int($1, "max-connections-per-address", in: 1...100_000)
    }
    public static let maxBodyMB = ServerSetting(
        "max-body-mb", ["UPSCALER_MAX_BODY_MB"], "Largest request body in MiB",
        default: "\(defaults.maxBodyBytes >> 20)"
    ) {
        $0.maxBodyBytes = try int($1, "max-body-mb", in: 1...4096) << 20
    }
    public static let maxPixels = ServerSetting(
        "max-pixels", ["UPSCALER_MAX_PIXELS"], "Largest input in pixels", default: "\(defaults.maxPixels)"
    ) {
        $0.maxPixels = try int($1, "max-pixels", in: 1...1_000_000_000)
    }
    public static let maxInputSide = ServerSetting(
        "max-input-side", ["UPSCALER_MAX_INPUT_SIDE"], "Above 2x, inputs longer than this are shrunk first",
        default: "\(defaults.maxInputSide ?? 0); 0 off"
    ) {
        let side = try int($1, "max-input-side", in: 0...65536)
        guard side == 0 || side >= OptionBounds.minInputSide else {
            throw ConfigurationError("--max-input-side must be 0 or at least \(OptionBounds.minInputSide), got \(side)")
        }
        $0.maxInputSide = side == 0 ? nil : side
    }
    public static let maxModelPixels = ServerSetting(
        "max-model-pixels", ["UPSCALER_MAX_MODEL_PIXELS"],
        "Pixels one job may run through the model (after the shrink above 2x); larger jobs get 413 too_much_work",
        default: "\(defaults.maxModelPixels) (2048x2048)"
    ) {
        $0.maxModelPixels = try int($1, "max-model-pixels", in: 1...1_000_000_000)
    }
    public static let maxTile = ServerSetting(
        "max-tile", ["UPSCALER_MAX_TILE"], "Largest tile edge a request may ask for",
        default: "\(defaults.maxTile)"
    ) {
        $0.maxTile = try int($1, "max-tile", in: OptionBounds.tile)
    }
    public static let waitTimeout = ServerSetting(
        "wait-timeout", ["UPSCALER_WAIT_TIMEOUT"], "Seconds POST /upscale waits before answering 202",
        default: "\(format(defaults.waitSeconds))"
    ) { $0.waitSeconds = try seconds($1, "wait-timeout", in: 0...86400) }
    public static let resultTTL = ServerSetting(
        "result-ttl", ["UPSCALER_RESULT_TTL"], "Seconds results are kept", default: "\(format(defaults.resultTTL))"
    ) {
        $0.resultTTL = try seconds($1, "result-ttl", in: 1...(30 * 86400))
    }
    public static let sweepInterval = ServerSetting(
        "sweep-interval", ["UPSCALER_SWEEP_INTERVAL"], "Seconds between sweeps of expired results",
        default: "\(format(defaults.sweepInterval))"
    ) {
        $0.sweepInterval = try seconds($1, "sweep-interval", in: 0.01...86400)
    }
    public static let lease = ServerSetting(
        "lease", ["UPSCALER_LEASE"], "Seconds a worker's lease on a job lasts without renewal",
        default: "\(format(defaults.leaseSeconds))"
    ) { $0.leaseSeconds = try seconds($1, "lease", in: 1...3600) }
    public static let maxAttempts = ServerSetting(
        "max-attempts", ["UPSCALER_MAX_ATTEMPTS"], "Times a job is tried after workers vanish before it fails",
        default: "\(defaults.maxAttempts)"
    ) { $0.maxAttempts = try int($1, "max-attempts", in: 1...100) }
    public static let maxQueue = ServerSetting(
        "max-queue", ["UPSCALER_MAX_QUEUE"], "Queued jobs in all before new ones get 503",
        default: "\(defaults.maxQueue)"
    ) {
        $0.maxQueue = try int($1, "max-queue", in: 1...1_000_000)
    }
    /// `UPSCALER_MAX_QUEUED_PER_TOKEN` is the name from before the cap counted running jobs too; it is still read.
    public static let maxJobsPerToken = ServerSetting(
        "max-jobs-per-token", ["UPSCALER_MAX_JOBS_PER_TOKEN", "UPSCALER_MAX_QUEUED_PER_TOKEN"],
        "A token's queued and running jobs before 429", default: "\(defaults.maxJobsPerToken)"
    ) {
        $0.maxJobsPerToken = try int($1, "max-jobs-per-token", in: 1...1_000_000)
    }
    public static let rateLimit = ServerSetting(
        "rate-limit", ["UPSCALER_RATE_LIMIT"],
        "Each token's request budget, off or RATE/UNIT[,burst=N] with UNIT s, min or h; a tokens-file line may set its own",
        default: defaults.rateLimit.map { "\(format($0.perSecond * 60))/min,burst=\($0.burst)" } ?? "off"
    ) {
        try $0.setRateLimit($1)
    }
    public static let threads = ServerSetting(
        "threads", ["UPSCALER_THREADS"], "Threads for the model", default: "all cores"
    ) {
        $0.threads = try int($1, "threads", in: 1...4096)
    }
    public static let precision = ServerSetting(
        "precision", ["UPSCALER_PRECISION"], "Model precision: fp32 or bf16 on the CPU, fp16 or fp32 on a GPU",
        default: "fp32 on the CPU, fp16 on a GPU that has it"
    ) {
        guard let chosen = Precision(rawValue: $1) else {
            throw ConfigurationError("--precision must be fp32, bf16 (CPU) or fp16 (GPU), got '\($1)'")
        }
        $0.precision = chosen
    }
    public static let model = ServerSetting(
        "model", ["UPSCALER_MODEL"], "Default model", default: defaults.defaultModel
    ) {
        guard ModelCatalog.named($1) != nil else {
            throw ConfigurationError("unknown model '\($1)'; see `upscaler models list`")
        }
        $0.defaultModel = $1
    }
    public static let noAutoFetch = ServerSetting(
        "no-auto-fetch", ["UPSCALER_NO_AUTO_FETCH"], "Do not download missing models on a worker's first start"
    ) { $0.autoFetch = !isOn($1) }
    public static let drainTimeout = ServerSetting(
        "drain-timeout", ["UPSCALER_DRAIN_TIMEOUT"], "Seconds SIGTERM waits for a running job",
        default: "\(format(defaults.drainSeconds))"
    ) { $0.drainSeconds = try seconds($1, "drain-timeout", in: 0...86400) }
    public static let pollInterval = ServerSetting(
        "poll-interval", ["UPSCALER_POLL_INTERVAL"],
        "Seconds between an idle worker's looks at a store without notifications",
        default: "\(format(defaults.pollInterval))"
    ) {
        $0.pollInterval = try seconds($1, "poll-interval", in: 0.01...60)
    }

    /// Every setting with a flag, in the order help lists them.
    public static let all: [ServerSetting] = [
        host, port, dataDirectory, modelsDirectory, database, blobDirectory, tokensFile, publicURL, trustedProxies,
        idleTimeout, maxConnectionsPerAddress, maxBodyMB,
        maxPixels, maxInputSide, maxModelPixels, maxTile, waitTimeout, resultTTL, sweepInterval, lease, maxAttempts,
        maxQueue,
        maxJobsPerToken, rateLimit, threads, precision, model, noAutoFetch, drainTimeout, pollInterval,
    ]

    /// The configuration from `flags` (flag name to value as given; a switch that is set maps to "1"), then the
    /// environment, then the defaults. `VALID_TOKENS` and `UPSCALER_SIGNING_KEY` are read from the environment only,
    /// as the service this replaces did, so tokens and keys stay out of process listings.
    public static func resolve(flags: [String: String], environment: [String: String]) throws -> ServerConfiguration {
        var configuration = ServerConfiguration(
            dataDirectory: ModelStore.dataHome(environment: environment).appendingPathComponent("upscaler/data"),
            modelsDirectory: ModelStore.defaultDirectory(environment: environment),
            cacheDirectory: ModelStore.defaultCacheDirectory(environment: environment),
            threads: UpscaleOptions().threads)  // all cores, as the command line's default
        for setting in all {
            let given =
                flags[setting.flag]
                ?? setting.variables.lazy.compactMap { environment[$0].flatMap { $0.isEmpty ? nil : $0 } }.first
            guard let given else { continue }
            do {
                try setting.apply(&configuration, given)
            } catch let error as ConfigurationError {
                let source = flags[setting.flag] != nil ? "--\(setting.flag)" : setting.variables[0]
                throw ConfigurationError(
                    error.description.hasPrefix("--")
                        ? error.description
                        : "\(source): \(error.description)")
            }
        }
        configuration.validTokens = environment["VALID_TOKENS"]
        configuration.signingKey = environment["UPSCALER_SIGNING_KEY"]
        if configuration.blobDirectory != nil && configuration.databaseURL == nil {
            throw ConfigurationError("--blob-dir goes with --database; without one, blobs live in --data-dir")
        }
        return configuration
    }

    // MARK: - Parsing, with the bounds each setting states

    private static func int(_ text: String, _ flag: String, in range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(
                "--\(flag) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    private static func seconds(_ text: String, _ flag: String, in range: ClosedRange<Double>) throws -> Double {
        guard let value = Double(text), range.contains(value) else {
            throw ConfigurationError(
                "--\(flag) must be seconds from \(format(range.lowerBound)) to \(format(range.upperBound)), got '\(text)'"
            )
        }
        return value
    }

    private static func isOn(_ text: String) -> Bool { ["1", "true", "yes"].contains(text.lowercased()) }

    /// 300, 0.5: no trailing ".0".
    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
