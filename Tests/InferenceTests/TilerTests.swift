import Inference
import InferenceCPU
import TestSupport
import Testing

@Suite("Tiling")
struct TilerTests {
    /// With a network that has no spatial context (nearest 4x upsampling), every tile sees exactly what the whole image
    /// would, so any tiling must reproduce the untiled output: this checks placement, blending and row emission.
    @Test(arguments: [(7, 3, 2), (9, 4, 0), (12, 6, 3), (5, 2, 1), (40, 8, 10)])
    func contextFreeNetworkIsUnchangedByTiling(_ tile: Int, _ overlap: Int, _ pad: Int) throws {
        var b = ModelBuilder(seed: 2)
        b.layer("Interp", "up", ["data"], ["output"], "0=1 1=4.000000e+00 2=4.000000e+00")
        let engine = try CPUEngine(network: try b.network(), options: EngineOptions(threads: 2))
        let image = b.random.tensor(3, 23, 31, 0, 1)
        let expected = try ReferenceKernels.run(try b.network(), input: image)
        let tiled = try Tiler.upscale(
            image, scale: 4, engine: engine,
            options: TilingOptions(tile: tile, overlap: overlap, pad: pad))
        #expect(maxAbsDifference(tiled, expected) <= 1e-5)
    }

    /// A network that unshuffles its input (here by 2 or 4, then a 1x1 convolution and a shuffle: 2x, no spatial
    /// context) groups pixels by their phase: tiles that start on a multiple of it, after padding that is one, give the
    /// untiled reference exactly, whatever the tile, overlap and padding asked for.
    @Test(arguments: [2, 4], [(8, 4, 3), (12, 6, 2), (10, 4, 0), (40, 8, 10), (16, 8, 5)])
    func unshufflingNetworkIsUnchangedByTiling(_ phase: Int, _ tiling: (Int, Int, Int)) throws {
        var b = ModelBuilder(seed: 4)
        let grouped = 3 * phase * phase, shuffle = 2 * phase
        b.layer("Reorg", "unshuffle", ["data"], ["u"], "0=\(phase)")
        b.convolution("u", "c", inChannels: grouped, outChannels: 3 * shuffle * shuffle, kernel: 1, pad: 0)
        b.layer("PixelShuffle", "shuffle", ["c"], ["output"], "0=\(shuffle)")
        let engine = try CPUEngine(network: try b.network(), options: EngineOptions(threads: 2))
        let image = b.random.tensor(3, 24, 32, 0, 1)
        let expected = try ReferenceKernels.run(try b.network(), input: image)
        let tiled = try Tiler.upscale(
            image, scale: 2, engine: engine,
            options: TilingOptions(tile: tiling.0, overlap: tiling.1, pad: tiling.2))
        #expect(maxAbsDifference(tiled, expected) <= 1e-5)
    }

    @Test func tileStartsKeepThePhase() {
        for phase in [2, 4] {
            for extent in [16, 100, 148, 256, 1000] {
                for (tile, overlap) in [(16, 4), (64, 24), (96, 48), (192, 24)] {
                    let axis = TileAxis(extent: extent, tile: tile, overlap: overlap, alignment: 8, phase: phase)
                    #expect(axis.starts.allSatisfy { $0 % phase == 0 } && axis.length % phase == 0)
                    #expect(axis.starts.last! + axis.length >= extent && axis.starts.first == 0)
                    for (a, b) in zip(axis.starts, axis.starts.dropFirst()) {
                        #expect(a + axis.length - b >= min(overlap, tile / 2) - phase, "extent \(extent) tile \(tile)")
                    }
                }
            }
        }
    }

    @Test func tilesCoverTheExtentWithTheRequestedOverlap() {
        for extent in [1, 15, 16, 17, 100, 148, 257, 1000] {
            for (tile, overlap) in [(16, 4), (64, 24), (96, 48), (192, 24)] {
                let axis = TileAxis(extent: extent, tile: tile, overlap: overlap)
                #expect(axis.starts.first == 0)
                #expect(axis.length <= tile)
                #expect(axis.starts.last! + axis.length == extent)
                for (a, b) in zip(axis.starts, axis.starts.dropFirst()) {
                    #expect(a + axis.length - b >= min(overlap, tile / 2), "extent \(extent) tile \(tile)")
                    #expect(b > a)
                }
            }
        }
    }

    @Test func reflectionPaddingMirrorsWithoutRepeatingTheEdge() {
        // Rows are 1 2 3 4 and columns 10 20 30 40; numpy.pad(..., mode="reflect") by 2 gives 3 2 | 1 2 3 4 | 3 2.
        var image = Tensor(channels: 1, height: 4, width: 4)
        for y in 0..<4 { for x in 0..<4 { image[0, y, x] = Float(10 * (y + 1) + x + 1) } }
        let padded = Tiler.reflectPad(image, by: 2)
        #expect((0..<8).map { padded[0, 2, $0] } == [13, 12, 11, 12, 13, 14, 13, 12])
        #expect((0..<8).map { padded[0, $0, 2] } == [31, 21, 11, 21, 31, 41, 31, 21])
        // Wider than the image: numpy folds again ([1 2] by 3 -> 2 1 2 | 1 2 | 1 2 1).
        let narrow = Tiler.reflectPad(Tensor(channels: 1, height: 1, width: 2, data: [1, 2]), by: 3)
        #expect((0..<8).map { narrow[0, 3, $0] } == [2, 1, 2, 1, 2, 1, 2, 1])
        #expect(
            Tiler.reflectPad(Tensor(channels: 1, height: 1, width: 1, data: [5]), by: 2).data.allSatisfy { $0 == 5 })
    }
}
