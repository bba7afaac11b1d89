import Foundation
import ZIPFoundation

/// Reads what `torch.save` writes (since PyTorch 1.6): a zip holding `<name>/data.pkl`, a pickle of the state dict
/// whose tensors name their storages by key, and one raw little-endian entry `<name>/data/<key>` per storage.
/// The pickle is read by ``RestrictedUnpickler``, so nothing in the file is ever executed.
enum TorchCheckpoint {
    /// The largest pickle accepted; a state dict's is a few hundred kilobytes.
    static let maxPickleBytes = 16 << 20

    static func read(_ url: URL, file: String, sizeLimit: Int) throws -> StateDict {
        let archive: Archive
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw ModelFileError(.malformed, "\(file) is not a readable zip (truncated or damaged)", detail: "\(error)")
        }
        var entries: [String: Entry] = [:]
        var pickle: Entry?
        for entry in archive where entry.type == .file {
            let path = entry.path
            guard entries[path] == nil else { throw ModelFileError(.malformed, "\(file) holds \(path) twice") }
            entries[path] = entry
            if path == "data.pkl" || path.hasSuffix("/data.pkl") {
                guard pickle == nil else { throw ModelFileError(.malformed, "\(file) holds two pickles") }
                pickle = entry
            }
        }
        guard let pickle else {
            throw ModelFileError(.malformed, "\(file) is a zip without data.pkl, not a PyTorch checkpoint")
        }
        let prefix = String(pickle.path.dropLast("data.pkl".count))
        var unpickler = RestrictedUnpickler(
            try contents(of: pickle, in: archive, limit: maxPickleBytes, file: file), file: file)
        let root = try unpickler.load()
        var storages: [String: [UInt8]] = [:]
        var dict = StateDict()
        var total = 0
        for (name, tensor) in try tensors(in: root, file: file) {
            if storages[tensor.storageKey] == nil {
                guard let entry = entries["\(prefix)data/\(tensor.storageKey)"] else {
                    throw ModelFileError(.malformed, "\(file) has no data for the storage of \(name)")
                }
                let expected = tensor.storageCount.multipliedReportingOverflow(by: tensor.type.byteCount)
                guard !expected.overflow, UInt64(expected.partialValue) == entry.uncompressedSize else {
                    throw ModelFileError(
                        .malformed,
                        "\(file): the storage of \(name) declares \(tensor.storageCount) values but holds "
                            + "\(entry.uncompressedSize) bytes")
                }
                total += expected.partialValue
                guard total <= sizeLimit else {
                    throw ModelFileError(.tooLarge, "\(file) unpacks to more than \(sizeLimit) bytes of weights")
                }
                storages[tensor.storageKey] = try contents(
                    of: entry, in: archive, limit: expected.partialValue, file: file)
            }
            try dict.add(
                name, try values(of: tensor, storage: storages[tensor.storageKey]!, name: name, file: file), file: file)
        }
        return dict
    }

    /// An entry's bytes, refusing more than `limit` (whatever its header says).
    private static func contents(of entry: Entry, in archive: Archive, limit: Int, file: String) throws -> [UInt8] {
        guard entry.uncompressedSize <= UInt64(limit) else {
            throw ModelFileError(.tooLarge, "\(file): \(entry.path) is larger than \(limit) bytes")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(entry.uncompressedSize))
        do {
            _ = try archive.extract(entry) { chunk in
                guard bytes.count + chunk.count <= limit else {
                    throw ModelFileError(.tooLarge, "\(file): \(entry.path) is too large")
                }
                bytes += chunk
            }
        } catch let error as ModelFileError {
            throw error
        } catch {
            throw ModelFileError(
                .malformed, "\(file): \(entry.path) cannot be read (truncated or damaged)", detail: "\(error)")
        }
        return bytes
    }

    /// The tensors of the unpickled root: a dict of tensors, or one under `params_ema`, `params`, `state_dict` or
    /// `model` (upstream Real-ESRGAN files hold `params_ema`), in the file's order.
    private static func tensors(in root: PickleValue, file: String) throws -> [(String, PickledTensor)] {
        guard case .dict(let dict) = root else {
            throw ModelFileError(.malformed, "\(file) holds a \(root.typeName), not a dictionary of tensors")
        }
        for wrapper in ["params_ema", "params", "state_dict", "model"] {
            if case .dict(let inner)? = dict.values[wrapper] { return try tensors(in: .dict(inner), file: file) }
        }
        return try dict.keys.map { key in
            guard case .tensor(let tensor)? = dict.values[key] else {
                throw ModelFileError(
                    .malformed, "\(file): \(key) is a \(dict.values[key]?.typeName ?? "nothing"), not a tensor")
            }
            return (key, tensor)
        }
    }

    /// A tensor's values: a contiguous run of its storage, which must hold it.
    private static func values(of tensor: PickledTensor, storage: [UInt8], name: String, file: String) throws
        -> WeightTensor
    {
        let count = try SafeTensors.elementCount(tensor.shape, file: file, name: name)
        guard tensor.stride.count == tensor.shape.count else {
            throw ModelFileError(
                .malformed, "\(file): tensor \(name) has \(tensor.stride.count) strides for \(tensor.shape.count) sizes"
            )
        }
        var expected = 1
        for axis in tensor.shape.indices.reversed() {
            guard tensor.shape[axis] == 1 || tensor.stride[axis] == expected else {
                throw ModelFileError(
                    .malformed, "\(file): tensor \(name) is not contiguous; save it with .contiguous()")
            }
            expected *= tensor.shape[axis]
        }
        guard tensor.offset >= 0, tensor.offset <= tensor.storageCount, count <= tensor.storageCount - tensor.offset
        else {
            throw ModelFileError(
                .malformed,
                "\(file): tensor \(name) needs \(count) values from \(tensor.offset) of a storage of \(tensor.storageCount)"
            )
        }
        let values = storage.withUnsafeBytes {
            tensor.type.decode($0, offset: tensor.offset * tensor.type.byteCount, count: count)
        }
        return WeightTensor(shape: tensor.shape, values: values)
    }
}
