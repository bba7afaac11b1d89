/// `manifest.json`: digests of imported model files, so `verify()` can check files that have no pinned digest.
struct ModelManifest: Codable, Equatable {
    struct Entry: Codable, Equatable {
        var paramSHA256: String
        var binSHA256: String
        /// What was passed to `importModels(from:)` or `importWeights(from:name:)`.
        var source: String
        /// For a model converted from a PyTorch or safetensors file: the network detected, its scale, and the
        /// source file's SHA-256 and size.
        var architecture: String?
        var scale: Int?
        var sourceSHA256: String?
        var sourceBytes: Int?
    }

    static let fileName = "manifest.json"

    var models: [String: Entry] = [:]
}
