public import Foundation

/// A job to queue.
public struct NewJob: Sendable {
    public var id: String
    public var owner: String
    public var ownerName: String
    public var request: Data
    public var inputPath: String
    public var inputWidth: Int
    public var inputHeight: Int
    public var model: String
    /// SHA-256 of the input's bytes (hex), which crashes are counted against; nil counts none.
    public var inputDigest: String?

    public init(
        id: String, owner: String, ownerName: String, request: Data, inputPath: String,
        inputWidth: Int, inputHeight: Int, model: String, inputDigest: String? = nil
    ) {
        self.id = id
        self.owner = owner
        self.ownerName = ownerName
        self.request = request
        self.inputPath = inputPath
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.model = model
        self.inputDigest = inputDigest
    }
}
