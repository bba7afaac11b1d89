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
        case .storageType(.float32): "torch.FloatStorage"
        case .storageType(.float16): "torch.HalfStorage"
        case .storageType(.bfloat16): "torch.BFloat16Storage"
        case .storageType(.float64): "torch.DoubleStorage"
        }
    }
}
