import ArgumentParser
import Foundation
import Inference
import InferenceCPU
import Logging
import UpscaleCore
import UpscaleServer

/// `upscaler migrate`: creates or upgrades the store's tables and exits (PostgreSQL; SQLite migrates on open).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Create or upgrade the job store's tables, then exit.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: ServerConfiguration
        do { configuration = try options.configuration(environment: environment) } catch let error as ValidationError {
            throw fail(error.message)
        }
        options.bootstrapLogging(environment: environment)
        do {
            let assembly = try ServerAssembly(
                configuration: configuration, role: .worker,
                logger: Logger(label: "upscaler.migrate"))
            try await assembly.migrate()
            print(
                "upscaler migrate: \(configuration.databaseURL == nil ? "SQLite \(configuration.dataDirectory.path)" : "PostgreSQL") schema is up to date"
            )
        } catch let error as ConfigurationError {
            throw fail(error.description)
        } catch {
            throw fail("migration failed: \(error)")
        }
    }
}
