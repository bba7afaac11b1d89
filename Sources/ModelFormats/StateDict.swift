/// A model file's weights by name, in the file's order: what PyTorch calls a state dict.
public struct StateDict: Sendable {
    public private(set) var names: [String] = []
    public private(set) var tensors: [String: WeightTensor] = [:]

    public init() {}

    /// Adds `tensor` under `name`; a name may appear once.
    public mutating func add(_ name: String, _ tensor: WeightTensor, file: String) throws {
        guard tensors[name] == nil else {
            throw ModelFileError(.malformed, "\(file) holds the tensor \(name) twice")
        }
        names.append(name)
        tensors[name] = tensor
    }

    public subscript(name: String) -> WeightTensor? { tensors[name] }

    /// The same tensors with `prefix` taken off every name that has it (`module.`, which `DataParallel` adds).
    func removingPrefix(_ prefix: String) -> StateDict {
        guard !names.isEmpty, names.allSatisfy({ $0.hasPrefix(prefix) }) else { return self }
        var result = StateDict()
        for name in names {
            let short = String(name.dropFirst(prefix.count))
            result.names.append(short)
            result.tensors[short] = tensors[name]
        }
        return result
    }
}
