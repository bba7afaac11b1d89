import Foundation

/// Reads weights from an ncnn `.bin` file in the order the layers ask for them.
///
/// A "tagged" array starts with a 4-byte flag: `0x01306B47` means fp16, `0x0002C056` or zero means fp32, and
/// any other non-zero flag means 8-bit indices into a 256-entry float table. "Raw" arrays (biases, slopes)
/// are plain fp32 with no flag. Every read is bounds-checked so a short or corrupt file is an error.
struct WeightReader {
    private let bytes: [UInt8]
    private var offset = 0
    private let fileName: String

    init(bytes: [UInt8], fileName: String) {
        self.bytes = bytes
        self.fileName = fileName
    }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    private func truncated(_ what: String) -> InferenceError {
        InferenceError(.malformedModel, "\(fileName) ends early while reading \(what)")
    }

    private mutating func take(_ count: Int, _ what: String) throws -> Range<Int> {
        guard count >= 0, count <= remaining else { throw truncated(what) }
        defer { offset += count }
        return offset..<(offset + count)
    }

    /// `count` fp32 values with no flag.
    mutating func readRaw(_ count: Int, _ what: String) throws -> [Float] {
        guard count <= remaining / 4 else { throw truncated(what) }  // also keeps count * 4 from overflowing
        let range = try take(count * 4, what)
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBytes { raw in
                let src = raw.baseAddress!.advanced(by: range.lowerBound)
                memcpy(out.baseAddress!, src, count * 4)
            }
            initialized = count
        }
    }

    /// `count` values behind a storage flag.
    mutating func readTagged(_ count: Int, _ what: String) throws -> [Float] {
        let flagRange = try take(4, what)
        let flag = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: flagRange.lowerBound, as: UInt32.self) }
        switch flag {
        case 0x0130_6B47:
            guard count <= remaining / 2 else { throw truncated(what) }
            let range = try take((count * 2 + 3) & ~3, what)
            return [Float](unsafeUninitializedCapacity: count) { out, initialized in
                bytes.withUnsafeBytes { raw in
                    for i in 0..<count {
                        let half = raw.loadUnaligned(fromByteOffset: range.lowerBound + 2 * i, as: UInt16.self)
                        out[i] = floatFromHalf(half)
                    }
                }
                initialized = count
            }
        case 0x000D_4B38:
            throw InferenceError(.unsupportedOperation, "\(fileName): int8 weights for \(what) are not supported")
        case 0, 0x0002_C056:
            return try readRaw(count, what)
        default:
            let table = try readRaw(256, what)
            guard count <= remaining else { throw truncated(what) }
            let range = try take((count + 3) & ~3, what)
            return (0..<count).map { table[Int(bytes[range.lowerBound + $0])] }
        }
    }
}

/// Converts IEEE 754 binary16 bits to Float, including subnormals, infinities and NaN.
@inline(__always)
func floatFromHalf(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        // Zero or subnormal: value = mantissa * 2^-24.
        let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)
        return sign == 0 ? magnitude : -magnitude
    }
    if exponent == 0x1F {
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}
