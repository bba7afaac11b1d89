import Inference

/// Resolves element addresses of a view once its storage has a buffer.
struct ViewPointer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let plain: Bool
    let view: BlobView

    /// Pointer to the first element of the view's channel range.
    var start: UnsafeMutablePointer<Float> { base + view.channelOffset * view.plane }

    @inline(__always)
    func offset(_ c: Int, _ y: Int, _ x: Int) -> Int {
        let channel = view.channelOffset + c
        if plain { return (channel * view.height + y) * view.width + x }
        return (((channel >> 4) * view.height + y) * view.width + x) << 4 | (channel & 15)
    }

    @inline(__always)
    func load(_ c: Int, _ y: Int, _ x: Int) -> Float { base[offset(c, y, x)] }

    @inline(__always)
    func store(_ v: Float, _ c: Int, _ y: Int, _ x: Int) { base[offset(c, y, x)] = v }

    /// Zeroes the lanes past the last real channel in the final block, so later ops can treat blocks whole.
    ///
    /// Only a block-aligned view owns its final block. A misaligned one is a concat slot filled by a copy, which the
    /// planner schedules after the aligned producers of the same storage have zeroed their own tails, so it must not
    /// touch lanes that belong to its neighbour.
    func zeroPaddingLanes() {
        guard !plain, view.channels % 16 != 0, view.channelOffset % 16 == 0 else { return }
        let block = start + (view.paddedChannels - 16) * view.plane
        let first = view.channels % 16
        let keep =
            SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            .< SIMD16<Int32>(repeating: Int32(first))
        for p in 0..<view.plane {
            let pixel = UnsafeMutableRawPointer(block + p * 16)
            let v = pixel.loadUnaligned(as: SIMD16<Float>.self)
            pixel.storeBytes(of: SIMD16<Float>(repeating: 0).replacing(with: v, where: keep), as: SIMD16<Float>.self)
        }
    }
}
