import ArgumentParser
import Foundation
import Inference
import InferenceCPU
import Logging
import UpscaleCore
import UpscaleServer

/// Flags shared by `serve`, `api` and `worker`. Names, environment twins, defaults, bounds and help come from
/// ``ServerSettings``, which also resolves them; these declarations only make them known to the parser.
struct ServerOptions: ParsableArguments {
    @Option(name: .customLong(ServerSettings.host.flag), help: ArgumentHelp(ServerSettings.host.help))
    var host: String?

    @Option(name: .customLong(ServerSettings.port.flag), help: ArgumentHelp(ServerSettings.port.help))
    var port: String?

    @Option(name: .customLong(ServerSettings.dataDirectory.flag), help: ArgumentHelp(ServerSettings.dataDirectory.help))
    var dataDir: String?

    @Option(
        name: .customLong(ServerSettings.modelsDirectory.flag), help: ArgumentHelp(ServerSettings.modelsDirectory.help))
    var modelsDir: String?

    @Option(name: .customLong(ServerSettings.database.flag), help: ArgumentHelp(ServerSettings.database.help))
    var database: String?

    @Option(name: .customLong(ServerSettings.blobDirectory.flag), help: ArgumentHelp(ServerSettings.blobDirectory.help))
    var blobDir: String?

    @Option(name: .customLong(ServerSettings.tokensFile.flag), help: ArgumentHelp(ServerSettings.tokensFile.help))
    var tokensFile: String?

    @Option(name: .customLong(ServerSettings.publicURL.flag), help: ArgumentHelp(ServerSettings.publicURL.help))
    var publicURL: String?

    @Option(
        name: .customLong(ServerSettings.trustedProxies.flag), help: ArgumentHelp(ServerSettings.trustedProxies.help))
    var trustedProxies: String?

    @Option(name: .customLong(ServerSettings.idleTimeout.flag), help: ArgumentHelp(ServerSettings.idleTimeout.help))
    var idleTimeout: String?

    @Option(
        name: .customLong(ServerSettings.maxConnectionsPerAddress.flag),
        help: ArgumentHelp(ServerSettings.maxConnectionsPerAddress.help))
    var maxConnectionsPerAddress: String?

    @Option(name: .customLong(ServerSettings.maxBodyMB.flag), help: ArgumentHelp(ServerSettings.maxBodyMB.help))
    var maxBodyMB: String?

    @Option(name: .customLong(ServerSettings.maxPixels.flag), help: ArgumentHelp(ServerSettings.maxPixels.help))
    var maxPixels: String?

    @Option(name: .customLong(ServerSettings.maxInputSide.flag), help: ArgumentHelp(ServerSettings.maxInputSide.help))
    var maxInputSide: String?

    @Option(
        name: .customLong(ServerSettings.maxModelPixels.flag), help: ArgumentHelp(ServerSettings.maxModelPixels.help))
    var maxModelPixels: String?

    @Option(name: .customLong(ServerSettings.maxTile.flag), help: ArgumentHelp(ServerSettings.maxTile.help))
    var maxTile: String?

    @Option(name: .customLong(ServerSettings.waitTimeout.flag), help: ArgumentHelp(ServerSettings.waitTimeout.help))
    var waitTimeout: String?

    @Option(name: .customLong(ServerSettings.resultTTL.flag), help: ArgumentHelp(ServerSettings.resultTTL.help))
    var resultTTL: String?

    @Option(name: .customLong(ServerSettings.sweepInterval.flag), help: ArgumentHelp(ServerSettings.sweepInterval.help))
    var sweepInterval: String?

    @Option(name: .customLong(ServerSettings.lease.flag), help: ArgumentHelp(ServerSettings.lease.help))
    var lease: String?

    @Option(name: .customLong(ServerSettings.maxAttempts.flag), help: ArgumentHelp(ServerSettings.maxAttempts.help))
    var maxAttempts: String?

    @Option(name: .customLong(ServerSettings.maxQueue.flag), help: ArgumentHelp(ServerSettings.maxQueue.help))
    var maxQueue: String?

    // --max-queued-per-token is the name from before the cap counted running jobs too.
    @Option(
        name: [.customLong(ServerSettings.maxJobsPerToken.flag), .customLong("max-queued-per-token")],
        help: ArgumentHelp(ServerSettings.maxJobsPerToken.help, valueName: "n"))
    var maxJobsPerToken: String?

    @Option(name: .customLong(ServerSettings.rateLimit.flag), help: ArgumentHelp(ServerSettings.rateLimit.help))
    var rateLimit: String?

    @Option(name: .customLong(ServerSettings.threads.flag), help: ArgumentHelp(ServerSettings.threads.help))
    var threads: String?

    @Option(name: .customLong(ServerSettings.precision.flag), help: ArgumentHelp(ServerSettings.precision.help))
    var precision: String?

    @Option(name: .customLong(ServerSettings.model.flag), help: ArgumentHelp(ServerSettings.model.help))
    var model: String?

    @Option(name: .customLong(ServerSettings.drainTimeout.flag), help: ArgumentHelp(ServerSettings.drainTimeout.help))
    var drainTimeout: String?

    @Option(name: .customLong(ServerSettings.pollInterval.flag), help: ArgumentHelp(ServerSettings.pollInterval.help))
    var pollInterval: String?

    @Flag(name: .customLong(ServerSettings.noAutoFetch.flag), help: ArgumentHelp(ServerSettings.noAutoFetch.help))
    var noAutoFetch = false

    /// `--device` (or `UPSCALER_DEVICE`) and `--cpu-fallback`, as `upscale` and `bench` take them.
    @OptionGroup var device: DeviceOptions

    @Option(name: .customLong("log-format"), help: "json or text ($UPSCALER_LOG_FORMAT, default json).")
    var logFormat: String?

    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error ($UPSCALER_LOG_LEVEL, default info).")
    var logLevel: String?

    func configuration(environment env: [String: String]) throws -> ServerConfiguration {
        var flags: [String: String] = [:]
        let given: [(ServerSetting, String?)] = [
            (ServerSettings.host, host),
            (ServerSettings.port, port),
            (ServerSettings.dataDirectory, dataDir),
            (ServerSettings.modelsDirectory, modelsDir),
            (ServerSettings.database, database),
            (ServerSettings.blobDirectory, blobDir),
            (ServerSettings.tokensFile, tokensFile),
            (ServerSettings.publicURL, publicURL),
            (ServerSettings.trustedProxies, trustedProxies),
            (ServerSettings.idleTimeout, idleTimeout),
            (ServerSettings.maxConnectionsPerAddress, maxConnectionsPerAddress),
            (ServerSettings.maxBodyMB, maxBodyMB),
            (ServerSettings.maxPixels, maxPixels),
            (ServerSettings.maxInputSide, maxInputSide),
            (ServerSettings.maxModelPixels, maxModelPixels),
            (ServerSettings.maxTile, maxTile),
            (ServerSettings.waitTimeout, waitTimeout),
            (ServerSettings.resultTTL, resultTTL),
            (ServerSettings.sweepInterval, sweepInterval),
            (ServerSettings.lease, lease),
            (ServerSettings.maxAttempts, maxAttempts),
            (ServerSettings.maxQueue, maxQueue),
            (ServerSettings.maxJobsPerToken, maxJobsPerToken),
            (ServerSettings.rateLimit, rateLimit),
            (ServerSettings.threads, threads),
            (ServerSettings.precision, precision),
            (ServerSettings.model, model),
            (ServerSettings.drainTimeout, drainTimeout),
            (ServerSettings.pollInterval, pollInterval),
            (ServerSettings.noAutoFetch, noAutoFetch ? "1" : nil),
        ]
        for case let (setting, value?) in given { flags[setting.flag] = value }
        var configuration: ServerConfiguration
        do {
            configuration = try ServerSettings.resolve(flags: flags, environment: env)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        configuration.device = try device.choice(environment: env)
        configuration.cpuFallback =
            device.cpuFallback || ["1", "true", "yes"].contains(env["UPSCALER_CPU_FALLBACK"] ?? "")
        return configuration
    }

    func bootstrapLogging(environment env: [String: String]) {
        let format = logFormat ?? env["UPSCALER_LOG_FORMAT"] ?? "json"
        let level = Logger.Level(rawValue: logLevel ?? env["UPSCALER_LOG_LEVEL"] ?? "info") ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                format == "text"
                ? StreamLogHandler.standardError(label: label) : JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
