import ArgumentParser
import Foundation
import Inference
import InferenceCPU
import Logging
import UpscaleCore
import UpscaleServer

struct APICommand: RoleCommand {
    static let role = ServerRole.api
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Run only the HTTP API: auth, validation, queue, downloads. Loads no model.")
    @OptionGroup var options: ServerOptions
}
