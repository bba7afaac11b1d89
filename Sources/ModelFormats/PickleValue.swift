/// A value on the restricted unpickler's stack. Dictionaries and lists are objects, as in Python, so a change made
/// through one reference (the stack) is seen through another (the memo).
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// A name from the allowlist, pushed by GLOBAL; only REDUCE and persistent ids use it.
    case global(PickleGlobal)
    /// A storage named by a persistent id: an entry `data/<key>` of the archive, of `count` elements.
    case storage(key: String, type: TensorDataType, count: Int)
    /// A tensor over a storage, from `_rebuild_tensor_v2`.
    case tensor(PickledTensor)

    /// How deeply containers nest inside this value (0 for anything that is not a container), known without
    /// walking it: every container records its own when it is made or filled.
    var depth: Int {
        switch self {
        case .tuple(let tuple): tuple.depth
        case .list(let list): list.depth
        case .dict(let dict): dict.depth
        default: 0
        }
    }

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
