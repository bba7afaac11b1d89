public import Foundation
import HTTPTypes
import Hummingbird
public import JobStore
public import Logging
import NIOCore
import OpenAPIHummingbird
import OpenAPIRuntime
import ServiceLifecycle
import UnixSignals
import UpscaleCore

/// Builds the service's parts from a configuration: the store, tokens, signer, HTTP router and the role's services.
/// The command line runs what this builds; tests build the same thing.
public struct ServerAssembly: Sendable {
    public let configuration: ServerConfiguration
    public let role: ServerRole
    let store: any JobStore
    /// Uploads and results: files in the data dir with SQLite, rows in the database with PostgreSQL.
    let blobs: any BlobStore
    /// Set when the store is PostgreSQL, whose connection pool runs beside the services.
    let postgres: PostgresJobStore?
    let hub = JobEventHub()
    /// Event streams open now, per token; their limits are the configuration's.
    let streams: ConcurrencySlots
    /// Downloads being sent now, per client address.
    let downloads: ConcurrencySlots
    /// Large request bodies being received now, per token.
    let largeBodies: ConcurrencySlots
    /// One watcher per followed job, shared by every wait and event stream on it.
    let watchers: JobWatchers
    let metrics = ServerMetrics()
    let signer: DownloadSigner
    let tokens: TokenRegistry
    let logger: Logger
    let startedAt: ContinuousClock.Instant
    /// Wall time for leases, expiry, rate buckets and sweeps: ``WallClock/system`` but in tests.
    let clock: WallClock

    public init(
        configuration: ServerConfiguration, role: ServerRole, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        let fm = FileManager.default
        // Uploads, results, the job database and the signing key are private to the user the service runs as: every
        // file and folder this process creates is 0600 or 0700, and the folders made by an earlier version are
        // closed too.
        umask(0o077)
        for directory in [configuration.dataDirectory, configuration.inputsDirectory, configuration.resultsDirectory] {
            do {
                try fm.createDirectory(at: directory, withIntermediateDirectories: true)
                try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
            } catch {
                throw ConfigurationError("cannot create \(directory.path): \(error.localizedDescription)")
            }
        }
        for suffix in ["", "-wal", "-shm"] where fm.fileExists(atPath: configuration.databasePath + suffix) {
            try? fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: configuration.databasePath + suffix)
        }
        let stores: Stores
        if let url = configuration.databaseURL {
            do {
                stores = try .postgres(url: url, blobDirectory: configuration.blobDirectory, logger: logger)
            } catch {
                throw ConfigurationError("cannot use the database URL: \(error)")
            }
        } else {
            do {
                stores = try .sqlite(path: configuration.databasePath, blobRoot: configuration.dataDirectory)
            } catch {
                throw ConfigurationError("cannot open the job store \(configuration.databasePath): \(error)")
            }
        }
        let key = try DownloadSigner.loadKey(
            environment: configuration.signingKey, dataDirectory: configuration.dataDirectory)
        let tokens = try TokenRegistry.load(
            validTokens: configuration.validTokens, tokensFile: configuration.tokensFile, secret: key)
        if role.runsAPI && tokens.count == 0 {
            throw ConfigurationError(
                "no tokens configured: set VALID_TOKENS, or --tokens-file with lines from "
                    + "`upscaler tokens generate`")
        }
        self.init(
            configuration: configuration, role: role, logger: logger, stores: stores, tokens: tokens,
            signer: DownloadSigner(key: key))
    }

    /// Assembles from parts the caller made, with no file or database I/O: the in-process tests' seam (a memory or
    /// temporary store, fixed tokens and key, a clock they move).
    public init(
        configuration: ServerConfiguration, role: ServerRole, logger: Logger, stores: Stores,
        tokens: TokenRegistry, signer: DownloadSigner, clock: WallClock = .system
    ) {
        startedAt = .now
        self.clock = clock
        streams = ConcurrencySlots(perKey: configuration.maxStreamsPerToken, total: configuration.maxStreams)
        downloads = ConcurrencySlots(
            perKey: configuration.maxDownloadsPerAddress, total: configuration.maxDownloads)
        largeBodies = ConcurrencySlots(
            perKey: configuration.maxLargeBodiesPerToken, total: configuration.maxLargeBodies)
        self.configuration = configuration
        self.role = role
        self.logger = logger
        store = stores.jobs
        blobs = stores.blobs
        postgres = stores.postgres
        watchers = JobWatchers(watcher: JobWatcher(store: stores.jobs, hub: hub))
        self.tokens = tokens
        self.signer = signer
    }

    /// The HTTP routes: the generated operations behind the auth middleware, plus the three documents.
    func makeRouter() throws -> Router<ServerRequestContext> {
        let document = OpenAPIDocument.embedded
        // HEAD is answered wherever GET is (the Allow field says so): the GET's headers, without its body.
        let router = Router(context: ServerRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(
            middleware: ServiceMiddleware(
                metrics: metrics, routes: document.routes,
                maxBodyBytes: configuration.maxBodyBytes,
                publicURL: configuration.publicURL, trustedProxies: configuration.trustedProxies, logger: logger))
        router.add(middleware: BrowserRedirectMiddleware())
        // Built-in models (an api process has none installed, its workers do), and the installed imported ones.
        let models = ModelStore(directory: configuration.modelsDirectory).list().filter { $0.builtIn || $0.installed }
        let handler = APIHandler(
            configuration: configuration, role: role, store: store, blobs: blobs, hub: hub,
            signer: signer,
            metrics: metrics, document: document, models: models, clock: clock,
            streams: streams, downloads: downloads, watchers: watchers)
        // Compact JSON with plain slashes, as the old service's clients saw it.
        let coding = Configuration(jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes])
        try handler.registerHandlers(
            on: router, configuration: coding,
            middlewares: [
                AuthMiddleware(
                    tokens: tokens, protectedOperations: document.protectedOperations,
                    rateLimiter: RateLimiter(
                        store: store, defaultPolicy: configuration.rateLimit, logger: logger, clock: clock),
                    failures: AuthFailureThrottle(clock: clock), largeBodies: largeBodies,
                    largeBodyBytes: configuration.largeBodyBytes),
                ImageFieldMiddleware(largeBodyBytes: configuration.largeBodyBytes),
            ])
        router.get("/openapi.json") { _, _ in
            Self.document(document.bytes, type: "application/json")
        }
        let page = Self.pageHeaders(publicURL: configuration.publicURL)
        router.get("/ui") { _, _ in
            Self.document(PackageResources.ui_html, type: "text/html; charset=utf-8", headers: page)
        }
        router.get("/docs") { _, _ in
            Self.document(PackageResources.docs_html, type: "text/html; charset=utf-8", headers: page)
        }
        router.get("/metrics") { [metrics] _, _ in
            Self.document(metrics.render(), type: "text/plain; version=0.0.4; charset=utf-8")
        }
        return router
    }

    /// The api role's sweeper of expired results and finished inputs.
    func makeSweeper() -> SweeperService {
        SweeperService(
            store: store, blobs: blobs, interval: configuration.sweepInterval, resultTTL: configuration.resultTTL,
            scratchDirectories: configuration.blobFolders, metrics: metrics, logger: logger, clock: clock)
    }

    /// The two pages run only their own inline script and style, talk only to this server (and to the public URL
    /// its links name), show only images they made themselves, and may not be framed by another site.
    static func pageHeaders(publicURL: String?) -> HTTPFields {
        var connect = "'self'"
        if let publicURL, let url = URL(string: publicURL), let scheme = url.scheme, let host = url.host {
            connect += " \(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
        }
        var headers = HTTPFields()
        headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' blob: data:; "
            + "connect-src \(connect); base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return headers
    }

    private static func document(_ bytes: [UInt8], type: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Runs the role until SIGTERM or SIGINT, then drains: the HTTP server stops taking connections and the worker
    /// finishes its job (up to `drainSeconds`).
    ///
    /// With PostgreSQL the client's pool is a service of the same group, listed first: it starts before the role
    /// (which migrates before serving) and, since a group shuts its services down in reverse order, it stops only
    /// after the worker has drained and written its last result.
    public func run() async throws {
        var services: [any Service] = []
        if let postgres { services.append(postgres) }
        services.append(RoleService(assembly: self))
        let group = ServiceGroup(
            configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The role's services, run once the store is ready: the part of ``run()`` after the pool.
    private struct RoleService: Service {
        let assembly: ServerAssembly

        func run() async throws {
            if let postgres = assembly.postgres { try await assembly.prepare(postgres) }
            try await assembly.runServices()
        }
    }

    /// Migrates, within a time limit (a database that cannot be reached must stop the start with a reason, not hang
    /// it), and checks that this process keeps blobs where the others do: a worker writing results into the
    /// database while the apis read a shared folder would lose every result.
    fileprivate func prepare(_ postgres: PostgresJobStore) async throws {
        let limit = 60.0
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await postgres.migrate() }
                group.addTask {
                    try await Task.sleep(for: .seconds(limit))
                    throw StoreError("no answer within \(Int(limit)) s")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            throw ConfigurationError("cannot prepare the database: \(String(reflecting: error))")
        }
        let mode = configuration.blobDirectory == nil ? "database" : "folder"
        let agreed = try await postgres.agree(on: "blob_storage", proposing: mode)
        guard agreed == mode else {
            throw ConfigurationError(
                "the processes on this database keep uploads and results in "
                    + (agreed == "folder" ? "a --blob-dir folder" : "the database")
                    + ", and this one was started " + (mode == "folder" ? "with" : "without")
                    + " --blob-dir; start every process the same way (the choice is the blob_storage row of the settings table)"
            )
        }
    }

    /// Brings the store's schema up to date and returns: `upscaler migrate`.
    public func migrate() async throws {
        guard let postgres else { return }  // SQLite migrates when it opens
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await postgres.run() }
            try await postgres.migrate()
            group.cancelAll()
        }
    }

    fileprivate func runServices() async throws {
        var services: [any Service] = []
        if role.runsWorker {
            services.append(
                WorkerService(
                    configuration: configuration, store: store, blobs: blobs, hub: hub,
                    metrics: metrics, logger: logger, startedAt: startedAt, clock: clock))
        }
        if role.runsAPI {
            services.append(makeSweeper())
            let startedAt = self.startedAt
            let role = self.role
            let logger = self.logger
            // Connections that go quiet (a half-sent request, an idle keep-alive) close after `--idle-timeout`; one
            // address holds at most `--max-connections-per-address` at once.
            let connections = ConcurrencySlots(perKey: configuration.maxConnectionsPerAddress)
            let application = Application(
                router: try makeRouter(),
                server: .http1(
                    configuration: .init(
                        additionalChannelHandlers: [
                            ConnectionCap(slots: connections, exempt: configuration.trustedProxies),
                            MalformedHeadAnswer(),
                        ],
                        idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1000)))),
                configuration: .init(
                    address: .hostname(configuration.host, port: configuration.port),
                    serverName: "upscaler"),
                services: services,
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? 0
                    let seconds = (ContinuousClock.now - startedAt).inSeconds
                    let host = channel.localAddress?.ipAddress ?? "?"
                    Self.announce(
                        "upscaler \(role.rawValue): listening on http://\(host):\(port) "
                            + "(ready in \(String(format: "%.3f", seconds)) s)")
                    logger.notice("listening", metadata: ["port": "\(port)", "role": "\(role.rawValue)"])
                },
                logger: logger)
            try await application.run()
        } else {
            // Nested in run()'s group, which owns the signals and passes graceful shutdown down.
            try await ServiceGroup(configuration: .init(services: services, logger: logger)).run()
        }
    }

    /// A line on stdout for people and scripts (tests wait for it), flushed at once.
    static func announce(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
