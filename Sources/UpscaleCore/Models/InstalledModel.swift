/// A model the store knows about, whether or not its files are present.
public struct InstalledModel: Sendable, Hashable {
    /// The canonical name, as passed to `ModelStore.locate(_:)`.
    public let name: String
    /// One line on what the model is for, or where it was imported from.
    public let summary: String
    /// How much the network enlarges each side; nil for ncnn models imported as they are, whose scale is not recorded.
    public let nativeScale: Int?
    /// True when both files are present.
    public let installed: Bool
    /// True for models from `ModelCatalog.builtIn`.
    public let builtIn: Bool
    /// The network detected in a PyTorch or safetensors file at import (`RRDBNet x2 (23 blocks, ...)`), else nil.
    public var architecture: String? = nil
}
