/// The element types a weights file may store; each is read into fp32.
enum TensorDataType: Sendable, Equatable {
    case float32, float16, bfloat16, float64

    var byteCount: Int {
        switch self {
        case .float32: 4
        case .float16, .bfloat16: 2
        case .float64: 8
        }
    }

    /// `count` little-endian values starting at `offset` of `bytes`, as fp32. The caller has checked the range.
    func decode(_ bytes: UnsafeRawBufferPointer, offset: Int, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialised in
            let base = bytes.baseAddress! + offset
            for i in 0..<count {
                switch self {
                case .float32:
                    out[i] = Float(
                        bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case .float16:
                    out[i] = Float(
                        Float16(
                            bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        ))
                case .bfloat16:
                    out[i] = Float(
                        bitPattern: UInt32(
                            UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                case .float64:
                    out[i] = Float(
                        Double(
                            bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                        ))
                }
            }
            initialised = count
        }
    }
}
