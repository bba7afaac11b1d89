import Foundation

/// Reads the safetensors format: an 8-byte little-endian header length, that many bytes of JSON naming each
/// tensor's dtype, shape and byte range, then the tensors' bytes. Every range is checked against the file, the
/// ranges must tile the data exactly (no gap, no overlap), and each shape must match its byte count, so a file
/// that lies about itself is refused before anything is allocated for it.
enum SafeTensors {
    /// Largest header accepted: the format's own reference reader stops at 100 MB.
    static let maxHeaderBytes = 100_000_000

    static func read(_ bytes: [UInt8], file: String) throws -> StateDict {
        func malformed(_ why: String) -> ModelFileError {
            ModelFileError(.malformed, "\(file) is not a valid safetensors file: \(why)")
        }
        guard bytes.count >= 8 else { throw malformed("shorter than its 8-byte header length") }
        let declared = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        guard declared <= UInt64(min(maxHeaderBytes, bytes.count - 8)) else {
            throw malformed("its header claims \(declared) bytes, more than the file holds")
        }
        let headerEnd = 8 + Int(declared)
        let header = Data(bytes[8..<headerEnd])
        guard let json = try? JSONSerialization.jsonObject(with: header), let entries = json as? [String: Any] else {
            throw malformed("its header is not a JSON object")
        }
        // JSON objects keep the last of repeated keys; every entry has one data_offsets, so a count tells.
        let text = String(decoding: header, as: UTF8.self)
        let offsetsKeys = text.components(separatedBy: "\"data_offsets\"").count - 1
        let tensorNames = entries.keys.filter { $0 != "__metadata__" }
        guard offsetsKeys == tensorNames.count else { throw malformed("a tensor name appears twice") }
        let dataCount = bytes.count - headerEnd
        var ranges: [(name: String, range: Range<Int>, type: TensorDataType, shape: [Int])] = []
        for name in tensorNames {
            guard let entry = entries[name] as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw malformed("the entry for \(name) lacks dtype, shape or data_offsets") }
            let type: TensorDataType
            switch dtype {
            case "F32": type = .float32
            case "F16": type = .float16
            case "BF16": type = .bfloat16
            case "F64": type = .float64
            default:
                throw ModelFileError(
                    .malformed, "\(file): tensor \(name) is \(dtype); weights must be F32, F16, BF16 or F64")
            }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataCount else {
                throw malformed(
                    "tensor \(name) lies outside the file (bytes \(offsets[0])..<\(offsets[1]) of \(dataCount))")
            }
            let elements = try Self.elementCount(shape, file: file, name: name)
            guard elements.multipliedReportingOverflow(by: type.byteCount) == (offsets[1] - offsets[0], false) else {
                throw malformed("tensor \(name) has shape \(shape) but \(offsets[1] - offsets[0]) bytes")
            }
            ranges.append((name, offsets[0]..<offsets[1], type, shape))
        }
        ranges.sort {
            $0.range.lowerBound < $1.range.lowerBound
                || ($0.range.lowerBound == $1.range.lowerBound && $0.range.upperBound < $1.range.upperBound)
        }
        var next = 0
        for entry in ranges {
            guard entry.range.lowerBound == next else { throw malformed("the tensors' bytes overlap or leave a gap") }
            next = entry.range.upperBound
        }
        guard next == dataCount else { throw malformed("\(dataCount - next) bytes after the last tensor") }
        var dict = StateDict()
        try bytes.withUnsafeBytes { raw in
            for entry in ranges {
                let values = entry.type.decode(
                    raw, offset: headerEnd + entry.range.lowerBound, count: entry.range.count / entry.type.byteCount)
                try dict.add(entry.name, WeightTensor(shape: entry.shape, values: values), file: file)
            }
        }
        return dict
    }

    /// The product of `shape`, refusing negative sizes and overflow.
    static func elementCount(_ shape: [Int], file: String, name: String) throws -> Int {
        var count = 1
        for size in shape {
            guard size >= 0 else { throw ModelFileError(.malformed, "\(file): tensor \(name) has a negative size") }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw ModelFileError(.malformed, "\(file): tensor \(name) is impossibly large") }
            count = product
        }
        return count
    }
}
