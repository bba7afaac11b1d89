/// A value on the restricted unpickler's stack. Dictionaries and lists are objects, as in Python, so a change made
/// through one reference (the stack) is seen through another (the memo).
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A name from the allowlist, pushed by GLOBAL; only REDUCE and persistent ids use it.
    case global(PickleGlobal)
    /// A storage named by a persistent id: an entry `data/<key>` of the archive, of `count` elements.
    case storage(key: String, type: TensorDataType, count: Int)
    /// A tensor over a storage, from `_rebuild_tensor_v2`.
    case tensor(PickledTensor)

    var typeName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global(let g): g.qualifiedName
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}

final class PickleList {
    var items: [PickleValue] = []
}

/// Keys kept in insertion order, as `OrderedDict` (and every Python dict) keeps them.
final class PickleDict {
    var keys: [String] = []
    var values: [String: PickleValue] = [:]
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it.
struct PickledTensor {
    let storageKey: String
    let type: TensorDataType
    let storageCount: Int
    let offset: Int
    let shape: [Int]
    let stride: [Int]
}

/// The only globals a state dict needs. Anything else in a pickle is refused by name.
enum PickleGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    case storageType(TensorDataType)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch", "FloatStorage"): self = .storageType(.float32)
        case ("torch", "HalfStorage"): self = .storageType(.float16)
        case ("torch", "BFloat16Storage"): self = .storageType(.bfloat16)
        case ("torch", "DoubleStorage"): self = .storageType(.float64)
        default: return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .storageType(let type): "torch.\(type)Storage"
        }
    }
}
