/// Where tiles go along one axis, and how each tile's output is weighted where neighbours overlap.
///
/// Every tile has the same length (the last one is shifted back to end at the edge), so one execution plan serves
/// all tiles. Neighbours overlap by at least `overlap`; inside each overlap a linear ramp `overlap` pixels wide,
/// centred in the shared region, hands over from one tile to the next. The two ramps sum to exactly 1, so the blend
/// needs no normalisation, and outside the ramp each pixel comes from one tile only. At the image's outer edges the
/// weight is 1: there is no neighbour to blend with, and reflection padding provides the context instead.
public struct TileAxis: Sendable, Equatable {
    /// Start of each tile, in input pixels.
    public let starts: [Int]
    /// Length of every tile, in input pixels.
    public let length: Int
    /// Width of the blending ramp, in input pixels.
    public let ramp: Int

    public init(extent: Int, tile: Int, overlap: Int) {
        precondition(extent > 0 && tile > 0 && overlap >= 0)
        guard extent > tile else {
            starts = [0]
            length = extent
            ramp = 0
            return
        }
        let overlap = min(overlap, tile / 2)
        let stride = tile - overlap
        let count = (extent - overlap + stride - 1) / stride
        var starts = (0..<count).map { $0 * stride }
        starts[count - 1] = extent - tile
        if count >= 2, starts[count - 1] <= starts[count - 2] { starts.removeLast(); starts[starts.count - 1] = extent - tile }
        self.starts = starts
        self.length = tile
        self.ramp = overlap
    }

    /// Weights for the output of tile `index`, one per output pixel of the tile (`length * scale` values).
    public func weights(tile index: Int, scale: Int) -> [Float] {
        let n = length * scale
        var w = [Float](repeating: 1, count: n)
        let rampOut = ramp * scale
        guard rampOut > 0 else { return w }
        // Hand-over from the previous tile: the ramp is centred in the region both tiles cover.
        if index > 0 {
            let shared = (starts[index - 1] + length - starts[index]) * scale
            let begin = (shared - rampOut) / 2
            for i in 0..<n {
                w[i] *= ramp01(Float(i - begin) + 0.5, width: Float(rampOut))
            }
        }
        if index + 1 < starts.count {
            let shared = (starts[index] + length - starts[index + 1]) * scale
            let offset = (starts[index + 1] - starts[index]) * scale   // where the next tile begins, in our pixels
            let begin = offset + (shared - rampOut) / 2
            for i in 0..<n {
                w[i] *= 1 - ramp01(Float(i - begin) + 0.5, width: Float(rampOut))
            }
        }
        return w
    }

    private func ramp01(_ x: Float, width: Float) -> Float { min(max(x / width, 0), 1) }
}
