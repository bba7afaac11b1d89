import ArgumentParser
import Foundation
import Inference
import InferenceCPU
import Logging
import UpscaleCore
import UpscaleServer

struct WorkerCommand: RoleCommand {
    static let role = ServerRole.worker
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run only a worker: take jobs from the store and upscale them, one at a time with all threads.")
    @OptionGroup var options: ServerOptions
}
