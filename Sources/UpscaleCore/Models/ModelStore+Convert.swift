import Crypto
public import Foundation
import Inference
public import ModelFormats

extension ModelStore {
    /// Imports a PyTorch (`.pth`, `.pt`) or `.safetensors` model file: reads it without executing anything, detects
    /// its network from the weights, writes that network in ncnn form under `name` (the file's lowercased stem by
    /// default) and records the architecture, scale, source, size and SHA-256 in `manifest.json`. The converted
    /// network is parsed as a model load would before anything is installed.
    @discardableResult
    public func importWeights(
        from file: URL, name: String? = nil, sizeLimit: Int = ModelFile.defaultSizeLimit,
        log: (String) -> Void = { _ in }
    ) throws -> (name: String, architecture: ModelArchitecture) {
        let name = name ?? file.deletingPathExtension().lastPathComponent.lowercased()
        guard Self.isValidName(name) else {
            throw ModelStoreError(.badSource, "'\(name)' cannot be a model name; choose another with --name")
        }
        guard !catalog.contains(where: { $0.name == name }) else {
            throw ModelStoreError(.badSource, "\(name) is a built-in model's name; choose another with --name")
        }
        let converted: ConvertedModel
        do {
            converted = try ConvertedModel(contentsOf: file, sizeLimit: sizeLimit)
            _ = try Network(paramText: converted.paramText, weights: converted.weights, paramName: "\(name).param")
        } catch let error as ModelFileError {
            throw ModelStoreError(.badSource, error.message)
        } catch let error as InferenceError {
            throw ModelStoreError(
                .badSource, "\(file.lastPathComponent) converts to a network that does not load: \(error)")
        }
        try createDirectory(directory)
        let files = paths(for: name)
        let (param, bin) = (Data(converted.paramText.utf8), Data(converted.weights))
        try installData(param, as: files.param)
        try installData(bin, as: files.bin)
        var manifest = try loadManifest()
        manifest.models[name] = ModelManifest.Entry(
            paramSHA256: SHA256.hash(data: param).hex, binSHA256: SHA256.hash(data: bin).hex, source: file.path,
            architecture: converted.architecture.description, scale: converted.architecture.scale,
            sourceSHA256: try hashFile(file),
            sourceBytes: (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? nil)
        try saveManifest(manifest)
        log("models: imported \(file.path) as \(name): \(converted.architecture)")
        return (name, converted.architecture)
    }
}
