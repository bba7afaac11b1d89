/// A tensor as `torch._utils._rebuild_tensor_v2` describes it.
struct PickledTensor {
    let storageKey: String
    let type: TensorDataType
    let storageCount: Int
    let offset: Int
    let shape: [Int]
    let stride: [Int]
}
