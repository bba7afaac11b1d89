/// Conversions between libvips' interleaved 8-bit pixels (RGBRGB…) and ``RGBImage``'s planar Float.
/// These loops touch every value of every image, so they run on raw buffers without bounds checks.

/// 256 exact values k/255, so decoding is a table look-up rather than a division per value.
private let byteToUnit: [Float] = (0...255).map { Float($0) / 255 }

/// Interleaved RGB bytes to planar Float in [0, 1].
func deinterleaveToFloat(_ bytes: UnsafeBufferPointer<UInt8>, into pixels: inout [Float], plane: Int) {
    precondition(bytes.count >= plane * 3 && pixels.count >= plane * 3)
    byteToUnit.withUnsafeBufferPointer { table in
        pixels.withUnsafeMutableBufferPointer { out in
            let src = bytes.baseAddress!
            let r = out.baseAddress!
            let g = r + plane
            let b = g + plane
            let lut = table.baseAddress!
            for i in 0..<plane {
                r[i] = lut[Int(src[3 * i])]
                g[i] = lut[Int(src[3 * i + 1])]
                b[i] = lut[Int(src[3 * i + 2])]
            }
        }
    }
}

/// Quantises one value: clamp to [0, 1] (NaN counts as 0), scale to 255, round half up.
@inline(__always)
func quantise(_ value: Float) -> UInt8 {
    var v = value > 0 ? value : 0  // also maps NaN to 0
    v = v < 1 ? v : 1
    return UInt8(v * 255 + 0.5)
}

/// Planar Float RGB to one 8-bit luma value per pixel (Rec. 709 weights on the encoded values).
func lumaBytes(_ pixels: [Float], plane: Int) -> [UInt8] {
    precondition(pixels.count >= plane * 3)
    return [UInt8](unsafeUninitializedCapacity: plane) { out, initialised in
        pixels.withUnsafeBufferPointer { src in
            let r = src.baseAddress!, g = r + plane, b = g + plane
            for i in 0..<plane { out[i] = quantise(0.2126 * r[i] + 0.7152 * g[i] + 0.0722 * b[i]) }
        }
        initialised = plane
    }
}

/// Planar Float to interleaved RGB bytes.
func interleaveToBytes(_ pixels: [Float], plane: Int) -> [UInt8] {
    precondition(pixels.count >= plane * 3)
    return [UInt8](unsafeUninitializedCapacity: plane * 3) { out, initialised in
        pixels.withUnsafeBufferPointer { src in
            let r = src.baseAddress!
            let g = r + plane
            let b = g + plane
            let dst = out.baseAddress!
            for i in 0..<plane {
                dst[3 * i] = quantise(r[i])
                dst[3 * i + 1] = quantise(g[i])
                dst[3 * i + 2] = quantise(b[i])
            }
        }
        initialised = plane * 3
    }
}

/// Planar Float to interleaved Float (libvips' layout), for resampling in libvips.
func interleaveFloat(_ pixels: [Float], plane: Int) -> [Float] {
    precondition(pixels.count >= plane * 3)
    return [Float](unsafeUninitializedCapacity: plane * 3) { out, initialised in
        pixels.withUnsafeBufferPointer { src in
            let r = src.baseAddress!
            let g = r + plane
            let b = g + plane
            let dst = out.baseAddress!
            for i in 0..<plane {
                dst[3 * i] = r[i]
                dst[3 * i + 1] = g[i]
                dst[3 * i + 2] = b[i]
            }
        }
        initialised = plane * 3
    }
}

/// Interleaved Float back to planar Float.
func deinterleaveFloat(_ values: UnsafeBufferPointer<Float>, plane: Int) -> [Float] {
    precondition(values.count >= plane * 3)
    return [Float](unsafeUninitializedCapacity: plane * 3) { out, initialised in
        let src = values.baseAddress!
        let r = out.baseAddress!
        let g = r + plane
        let b = g + plane
        for i in 0..<plane {
            r[i] = src[3 * i]
            g[i] = src[3 * i + 1]
            b[i] = src[3 * i + 2]
        }
        initialised = plane * 3
    }
}
