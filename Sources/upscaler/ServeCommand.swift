import ArgumentParser
import Foundation
import Inference
import InferenceCPU
import Logging
import UpscaleCore
import UpscaleServer

struct ServeCommand: RoleCommand {
    static let role = ServerRole.serve
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Run the HTTP API and a worker in one process, on the embedded SQLite store (the default for one machine).")
    @OptionGroup var options: ServerOptions
}
