import ArgumentParser
import Foundation
import Inference
import UpscaleCore

/// `--device` and `--cpu-fallback`, shared by `upscale`, `bench`, `serve` and `worker`.
struct DeviceOptions: ParsableArguments {
    @Option(
        name: .customLong("device"),
        help:
            "Where the model runs: auto (a discrete or integrated GPU if there is one, else the CPU), cpu, gpu or gpu:N (see `upscaler devices`). Default: $UPSCALER_DEVICE, else auto."
    )
    var text: String?

    @Flag(
        name: .customLong("cpu-fallback"),
        help: "When the GPU fails (lost, out of memory), run that image on the CPU instead of failing it.")
    var cpuFallback = false

    /// The parsed choice, from the flag, then UPSCALER_DEVICE, then `auto`.
    func choice(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DeviceChoice {
        let value = text ?? environment["UPSCALER_DEVICE"].flatMap { $0.isEmpty ? nil : $0 } ?? "auto"
        guard let choice = DeviceChoice(value) else {
            throw fail("--device must be auto, cpu, gpu or gpu:N, got '\(value)'")
        }
        return choice
    }
}
