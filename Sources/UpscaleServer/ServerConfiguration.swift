public import Foundation
public import Inference
public import JobStore

/// Everything the server roles need, filled from flags and `UPSCALER_*` variables by the command line.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8000
    /// SQLite database, uploaded inputs, results and the signing key live here.
    public var dataDirectory: URL
    public var modelsDirectory: URL
    public var cacheDirectory: URL
    /// Raw tokens, comma-separated (`VALID_TOKENS`, as the old service took them).
    public var validTokens: String?
    /// A file of `name:sha256hex` lines (`UPSCALER_TOKENS_FILE`).
    public var tokensFile: String?
    /// The base of download and status links, e.g. `https://upscale.example.com`; by default taken from each
    /// request's Host header.
    public var publicURL: String?
    /// A connection that sends nothing (no complete request head, no body part) for this long is closed, as is an
    /// idle keep-alive connection; a request being answered is not cut.
    public var idleTimeout: Double = 30
    /// Connections one client address may hold open at once; trusted proxies are exempt.
    public var maxConnectionsPerAddress = 64
    /// Event streams (`GET /jobs/{id}/events`) one token may hold open, and this process in all: each holds a
    /// watcher of the store.
    public var maxStreamsPerToken = 8
    public var maxStreams = 256
    /// Downloads one client address may be sent at once, and this process in all: each holds a result's bytes.
    public var maxDownloadsPerAddress = 8
    public var maxDownloads = 64
    /// Requests with a body past `largeBodyBytes` (or of unknown length) that one token may send at once, and this
    /// process in all: each can hold its body, a decoded copy and the image until it is answered.
    public var maxLargeBodiesPerToken = 2
    public var maxLargeBodies = 16
    public var largeBodyBytes = 1 << 20
    /// Reverse proxies (IP addresses) whose `X-Forwarded-For` and `X-Forwarded-Proto` fields are believed.
    public var trustedProxies: Set<String> = []
    /// Hex or text; by default a random key kept in `<data-dir>/signing.key`.
    public var signingKey: String?
    /// `postgres://user:password@host:port/database` puts the queue in PostgreSQL, shared by every process that names
    /// it; nil keeps the embedded SQLite file in the data directory.
    public var databaseURL: String?
    /// With a database URL: uploads and results go to files here (a folder every process mounts) instead of `bytea`.
    public var blobDirectory: URL?

    public var maxBodyBytes = 64 << 20
    public var maxPixels = 50_000_000
    public var maxInputSide: Int? = 2048
    /// Pixels one job may run through the model, after the shrink above 2x: the work a job costs is bounded at
    /// every scale (a 2x job is not shrunk). 2048x2048 by default, what `maxInputSide` allows above 2x.
    public var maxModelPixels = 2048 * 2048
    /// The largest tile edge a request may ask for: a tile's buffers grow with its square.
    public var maxTile = 256
    /// How long `POST /upscale` waits for its job before answering 202.
    public var waitSeconds: Double = 300
    /// How long results (and finished jobs) are kept.
    public var resultTTL: Double = 3600
    public var sweepInterval: Double = 60
    /// A worker extends its lease while it runs a job; a job whose lease ran out is taken again.
    public var leaseSeconds: Double = 30
    public var maxAttempts = 3
    /// Queued jobs in all, beyond which new ones get 503.
    public var maxQueue = 100
    /// A token's queued and running jobs together, beyond which that token gets 429: one client cannot fill the
    /// queue (and the claim order keeps it from holding every worker).
    public var maxJobsPerToken = 20
    /// Each token's request budget unless its tokens-file line sets its own; nil turns the limit off.
    public var rateLimit: RateLimitPolicy? = RateLimitPolicy(burst: 60, perSecond: 5)
    public var threads: Int
    /// Where a worker runs the model: `auto` takes a discrete or integrated GPU when there is one.
    public var device: DeviceChoice = .auto
    /// `nil` is the device's default (fp32 on the CPU, fp16 on a GPU that has it).
    public var precision: Precision?
    /// A job whose GPU run fails (device lost, out of memory) runs again on the CPU instead of failing.
    public var cpuFallback = false
    public var defaultModel = "realesrgan-x4plus"
    /// Fetch missing models on a worker's first use, as the old service did.
    public var autoFetch = true
    /// How often an idle worker looks for work in the store (jobs queued in the same process wake it at once).
    public var pollInterval: Double = 0.5
    /// How long SIGTERM waits for a running job before leaving it for another worker.
    public var drainSeconds: Double = 120

    public init(dataDirectory: URL, modelsDirectory: URL, cacheDirectory: URL, threads: Int) {
        self.dataDirectory = dataDirectory
        self.modelsDirectory = modelsDirectory
        self.cacheDirectory = cacheDirectory
        self.threads = threads
    }

    /// Sets ``rateLimit`` from `off` or `RATE/UNIT[,burst=N]`.
    public mutating func setRateLimit(_ text: String) throws {
        rateLimit = try RateLimitPolicy.parse(text)
    }

    var databasePath: String { dataDirectory.appendingPathComponent("upscaler.sqlite").path }
    var inputsDirectory: URL { dataDirectory.appendingPathComponent("inputs", isDirectory: true) }
    var resultsDirectory: URL { dataDirectory.appendingPathComponent("results", isDirectory: true) }
    /// Where uploads and results may be written as files, so that the sweeper can clear what a killed writer left.
    var blobFolders: [URL] {
        let roots = [dataDirectory] + (blobDirectory.map { [$0] } ?? [])
        return roots.flatMap {
            [
                $0.appendingPathComponent("results", isDirectory: true),
                $0.appendingPathComponent("inputs", isDirectory: true),
            ]
        }
    }
}
