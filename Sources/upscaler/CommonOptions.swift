import ArgumentParser
import Foundation
import UpscaleCore

/// `--models-dir`, shared by every command that loads models.
struct ModelDirectoryOption: ParsableArguments {
    @Option(name: .customLong("models-dir"),
            help: "Model folder (default: $UPSCALER_MODELS_DIR, else $XDG_DATA_HOME/upscaler/models, else ~/.local/share/upscaler/models).")
    var directory: String?

    var store: ModelStore {
        ModelStore(directory: directory.map { URL(fileURLWithPath: $0) }
            ?? ModelStore.defaultDirectory(environment: ProcessInfo.processInfo.environment))
    }
}

/// Prints a one-line reason to stderr and exits non-zero, instead of ArgumentParser's multi-line error.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("upscaler: error: \(message)\n".utf8))
    return ExitCode.failure
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("upscaler: \(message)\n".utf8))
}
