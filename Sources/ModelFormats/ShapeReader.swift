/// Looks up a state dict's tensors by name and checks their shapes, with errors that name the file and the tensor.
struct ShapeReader {
    let tensors: [String: WeightTensor]
    let file: String

    func wrong(_ why: String) -> ModelFileError {
        ModelFileError(.unknownArchitecture, "\(file): \(why); recognised: \(ModelArchitecture.recognised)")
    }

    func shape(_ name: String, rank: Int) throws -> [Int] {
        guard let tensor = tensors[name] else { throw wrong("it lacks \(name)") }
        guard tensor.shape.count == rank else { throw wrong("\(name) has shape \(tensor.shape)") }
        return tensor.shape
    }

    /// `name.weight` must be `out` x `in` x 3 x 3 and `name.bias` hold `out` values.
    func convolution(_ name: String, out: Int, in inputs: Int) throws {
        let weight = try shape("\(name).weight", rank: 4)
        guard weight == [out, inputs, 3, 3] else {
            throw wrong("\(name).weight has shape \(weight), where \([out, inputs, 3, 3]) belongs")
        }
        guard try shape("\(name).bias", rank: 1) == [out] else {
            throw wrong("\(name).bias does not hold \(out) values")
        }
    }

    /// Every tensor was accounted for: none is left over from another network.
    func expectCount(_ count: Int) throws {
        guard tensors.count == count else {
            throw wrong("it holds \(tensors.count) tensors where the network it resembles has \(count)")
        }
    }
}
