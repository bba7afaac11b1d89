import ArgumentParser
import Foundation
import Inference
import InferenceCPU
import Logging
import UpscaleCore
import UpscaleServer

/// `upscaler tokens generate`.
struct TokensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "Make bearer tokens.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new token once, and the line that lets the server accept it.")

        @Option(help: "A name for the token, shown in usage and logs.")
        var name: String = "token"

        func run() throws {
            guard !name.isEmpty, !name.contains(":"), !name.contains(where: \.isNewline) else {
                throw fail("the name must be non-empty, without ':' or newlines")
            }
            let token = TokenRegistry.generateToken()
            print("token: \(token)")
            print("")
            print("Give the token to its user; it is not stored anywhere and cannot be shown again.")
            print("To accept it, add this line to the tokens file (--tokens-file / UPSCALER_TOKENS_FILE):")
            print("\(name):\(TokenRegistry.digest(token).hex)")
            print("or add the token itself to VALID_TOKENS (comma-separated).")
        }
    }
}
