import ArgumentParser
import Foundation

/// The `upscaler` executable: each subcommand parses its flags and hands a plain configuration to UpscaleCore.
@main
struct UpscalerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscaler",
        abstract: "Real-ESRGAN image super-resolution on the CPU or a Vulkan GPU.",
        subcommands: [
            UpscaleCommand.self, ServeCommand.self, APICommand.self, WorkerCommand.self, ClientCommand.self,
            TokensCommand.self, MigrateCommand.self, FormatsCommand.self, ModelsCommand.self, DevicesCommand.self,
            BenchCommand.self, StoreBenchCommand.self,
        ])

    /// Like ArgumentParser's `main()`, but a usage error is one line on stderr, as every other failure is.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is ExitCode { exit(withError: error) }  // --help, or already reported
            var first = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            if first.hasPrefix("Error: ") { first.removeFirst("Error: ".count) }
            FileHandle.standardError.write(Data("upscaler: error: \(first) (see --help)\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}
