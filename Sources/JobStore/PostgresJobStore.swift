import Foundation
public import Logging
internal import NIOSSL
internal import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// The scale-out ``JobStore``: one PostgreSQL database shared by any number of api and worker processes on any number
/// of machines. It keeps the same state machine as ``SQLiteJobStore``; a claim locks the row it takes with
/// `FOR UPDATE SKIP LOCKED`, so concurrent workers never take the same job and never wait on each other.
///
/// The client's connection pool must run: the store is a swift-service-lifecycle `Service` whose ``run()`` is the
/// pool, so the server lists it in its service group before the services that use it.
public final class PostgresJobStore: JobStore, BlobStore, Service {
    let client: PostgresClient
    let logger: Logger
    let schema: String

    /// `url` is `postgres://user:password@host:port/database[?schema=name&sslmode=mode&sslrootcert=file]`.
    /// - The schema (letters, digits and `_`, default `public`, or `schema` here) holds the tables, which lets tests
    ///   have a fresh store each.
    /// - `sslmode` means what it means to libpq: `disable`; `allow` or `prefer` (the default: TLS if the server offers
    ///   it, unverified); `require` (TLS, unverified); `verify-ca` (TLS, the certificate checked against
    ///   `sslrootcert` or the system's roots); `verify-full` (that, and the host name too).
    public init(url: String, schema: String? = nil, logger: Logger) throws {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
            let host = parts.host, !host.isEmpty
        else {
            throw StoreError("the database URL must look like postgres://user:password@host:5432/database")
        }
        var query: [String: String] = [:]
        for item in parts.queryItems ?? [] {
            guard ["schema", "sslmode", "sslrootcert"].contains(item.name) else {
                throw StoreError(
                    "the database URL has \(item.name)=; the options read are schema, sslmode and sslrootcert")
            }
            query[item.name] = item.value ?? ""
        }
        let schema = schema ?? query["schema"] ?? "public"
        guard !schema.isEmpty, schema.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw StoreError("the schema name must be letters, digits and _")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: parts.user ?? "postgres",
            password: parts.password, database: String(parts.path.dropFirst()).nilIfEmpty,
            tls: try Self.tls(mode: query["sslmode"] ?? "prefer", rootCertificates: query["sslrootcert"]))
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.schema = schema
    }

    /// Runs the connection pool until the task is cancelled or the group shuts down gracefully.
    public func run() async {
        poolStarted.store(true, ordering: .releasing)
        await client.run()
    }

    private let poolStarted = Atomic<Bool>(false)

    /// Calls made in the instant between starting ``run()`` in a task and the pool running wait for it (the client
    /// would otherwise warn about a lease before `run()`); after 5 s they go ahead and let the client say why.
    func untilPoolRuns() async {
        for _ in 0..<5000 where !poolStarted.load(ordering: .acquiring) {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// The setting `name` as the database has it: `proposing` if no process has set it yet.
    public func agree(on name: String, proposing value: String) async throws -> String {
        try await shielded { [self] in
            try await client.query(
                "INSERT INTO settings (name, value) VALUES (\(name), \(value)) ON CONFLICT (name) DO NOTHING",
                logger: logger)
            var agreed = value
            for try await stored in try await client.query(
                "SELECT value FROM settings WHERE name = \(name)",
                logger: logger
            ).decode(String.self) {
                agreed = stored
            }
            return agreed
        }
    }

    // MARK: - Shielding

    /// Runs `body` in a task of its own, so that a caller's cancellation (a client that hangs up, a worker's lease
    /// renewer being stopped) never stops a statement or a transaction half-way.
    @discardableResult
    func shielded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await Task {
            await untilPoolRuns()
            do {
                return try await body()
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "53100" {  // disk_full
                throw StoreError("the database's disk is full", storageFull: true)
            }
        }.value
    }
}
