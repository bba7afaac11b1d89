/// Conversions between libvips' interleaved 8-bit pixels (RGBRGB…) and ``RGBImage``'s planar Float.
/// These loops touch every value of every image, so they run on raw buffers without bounds checks.

/// 256 exact values k/255, so decoding is a table look-up rather than a division per value.
private let byteToUnit: [Float] = (0...255).map { Float($0) / 255 }

/// Interleaved 8-bit samples (`bands` per pixel) to planar Float in [0, 1].
func deinterleaveToFloat(_ samples: UnsafeBufferPointer<UInt8>, bands: Int, into pixels: inout [Float], plane: Int) {
    precondition(samples.count >= plane * bands && pixels.count >= plane * bands)
    byteToUnit.withUnsafeBufferPointer { table in
        pixels.withUnsafeMutableBufferPointer { out in
            let src = samples.baseAddress!, dst = out.baseAddress!, lut = table.baseAddress!
            for b in 0..<bands {
                let planeStart = dst + b * plane
                for i in 0..<plane { planeStart[i] = lut[Int(src[bands * i + b])] }
            }
        }
    }
}

/// Interleaved 16-bit samples (`bands` per pixel) to planar Float in [0, 1].
func deinterleaveToFloat(_ samples: UnsafeBufferPointer<UInt16>, bands: Int, into pixels: inout [Float], plane: Int) {
    precondition(samples.count >= plane * bands && pixels.count >= plane * bands)
    pixels.withUnsafeMutableBufferPointer { out in
        let src = samples.baseAddress!, dst = out.baseAddress!
        for b in 0..<bands {
            let planeStart = dst + b * plane
            for i in 0..<plane { planeStart[i] = Float(src[bands * i + b]) / 65535 }
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

/// Like ``quantise(_:)`` to 16 bits: clamp to [0, 1], scale to 65535, round half up.
@inline(__always)
func quantise16(_ value: Float) -> UInt16 {
    var v = value > 0 ? value : 0
    v = v < 1 ? v : 1
    return UInt16(v * 65535 + 0.5)
}

/// Planar Float colour (and an optional alpha plane) to interleaved samples: three colour bands, or with `luma` one
/// band of Rec. 709 luma on the encoded values; alpha last.
func interleave<Sample>(
    _ pixels: [Float], alpha: [Float]?, plane: Int, luma: Bool,
    quantise: (Float) -> Sample
) -> [Sample] {
    precondition(pixels.count >= plane * 3 && (alpha?.count ?? plane) >= plane)
    let colourBands = luma ? 1 : 3
    let bands = colourBands + (alpha == nil ? 0 : 1)
    return [Sample](unsafeUninitializedCapacity: plane * bands) { out, initialised in
        pixels.withUnsafeBufferPointer { src in
            let r = src.baseAddress!, g = r + plane, b = g + plane
            let dst = out.baseAddress!
            if luma {
                for i in 0..<plane {
                    (dst + bands * i).initialize(to: quantise(0.2126 * r[i] + 0.7152 * g[i] + 0.0722 * b[i]))
                }
            } else {
                for i in 0..<plane {
                    (dst + bands * i).initialize(to: quantise(r[i]))
                    (dst + bands * i + 1).initialize(to: quantise(g[i]))
                    (dst + bands * i + 2).initialize(to: quantise(b[i]))
                }
            }
            if let alpha {
                alpha.withUnsafeBufferPointer { a in
                    for i in 0..<plane { (dst + bands * i + colourBands).initialize(to: quantise(a[i])) }
                }
            }
        }
        initialised = plane * bands
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
