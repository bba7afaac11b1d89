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
