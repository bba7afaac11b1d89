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
