/// A model Upscaler knows by name, with the digests its files must have.
public struct ModelInfo: Sendable, Hashable {
    /// The canonical name: installed files are `<name>.param` and `<name>.bin`.
    public let name: String
    /// How much the network enlarges each side of its input.
    public let nativeScale: Int
    /// One line on what the model is for.
    public let summary: String
    /// sha256 of the `.param` file, lowercase hex.
    public let paramSHA256: String
    /// sha256 of the `.bin` file, lowercase hex.
    public let binSHA256: String
    /// File stem inside the source wheel's `models/` folder.
    let wheelStem: String
    /// Other stems the same files go by (upstream release names), matched case-insensitively on import.
    let aliases: [String]
}
