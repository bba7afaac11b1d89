import ArgumentParser
import Foundation
import Inference
import UpscaleCore

/// `--models-dir`, shared by every command that loads models.
struct ModelDirectoryOption: ParsableArguments {
    @Option(
        name: .customLong("models-dir"),
        help:
            "Model folder (default: $UPSCALER_MODELS_DIR, else $XDG_DATA_HOME/upscaler/models, else ~/.local/share/upscaler/models)."
    )
    var directory: String?

    var store: ModelStore {
        ModelStore(
            directory: directory.map { URL(fileURLWithPath: $0) }
                ?? ModelStore.defaultDirectory(environment: ProcessInfo.processInfo.environment))
    }
}
