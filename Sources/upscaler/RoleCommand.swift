import ArgumentParser
import Foundation
import Inference
import InferenceCPU
import Logging
import UpscaleCore
import UpscaleServer

/// Runs one role until SIGTERM or SIGINT.
protocol RoleCommand: AsyncParsableCommand {
    var options: ServerOptions { get }
    static var role: ServerRole { get }
}

extension RoleCommand {
    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: ServerConfiguration
        do {
            configuration = try options.configuration(environment: environment)
        } catch let error as ValidationError {
            throw fail(error.message)
        }
        options.bootstrapLogging(environment: environment)
        let logger = Logger(label: "upscaler.\(Self.role.rawValue)")
        do {
            let assembly = try ServerAssembly(configuration: configuration, role: Self.role, logger: logger)
            try await assembly.run()
        } catch let error as ConfigurationError {
            throw fail(error.description)
        }
    }
}
