import ArgumentParser

/// The `upscaler` executable: each subcommand parses its flags and hands a plain configuration to UpscaleCore.
@main
struct UpscalerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscaler",
        abstract: "Real-ESRGAN image super-resolution on the CPU.",
        subcommands: [UpscaleCommand.self, ModelsCommand.self, BenchCommand.self])
}
