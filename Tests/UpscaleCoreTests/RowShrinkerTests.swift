import Imaging
import Inference
import TestSupport
import Testing

@testable import UpscaleCore

/// The row shrinker (a 4x model's rows shrunk to 2x as they come) against libvips resizing the whole image at once.
struct RowShrinkerTests {
    /// Rows fed in uneven bands give the whole-image resize: at ratios 2 and 4, a width that does not divide, and
    /// ratios 4:3 (a 4x model at 3x) and 8:5 (at 2.5x) taken in groups of 3 and 5 rows.
    @Test(arguments: [
        (148, 116, 74, 58), (148, 116, 37, 29), (148, 117, 74, 50), (64, 40, 32, 40), (148, 116, 111, 87),
        (160, 116, 100, 72),
    ])
    func bandsGiveTheWholeImageResize(sourceHeight: Int, sourceWidth: Int, height: Int, width: Int) throws {
        var random = SeededRandom(seed: UInt64(sourceHeight * 1000 + width))
        let source = random.tensor(3, sourceHeight, sourceWidth, 0, 1)
        let whole = try Imaging.resize(RGBImage(source), width: width, height: height)
        var shrinker = try #require(
            RowShrinker(sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: width, height: height))
        let bands = [1, 7, 30, 2, 45]
        var (row, index) = (0, 0)
        while row < sourceHeight {
            let rows = min(bands[index % bands.count], sourceHeight - row)
            try shrinker.add(firstRow: row, rows: source.cropped(y: row, x: 0, height: rows, width: sourceWidth))
            (row, index) = (row + rows, index + 1)
        }
        #expect(shrinker.isComplete)
        let difference = zip(shrinker.output.data, whole.pixels).map { abs($0 - $1) }.max() ?? .infinity
        #expect(shrinker.output.data.count == whole.pixels.count && difference <= 1e-6, "max difference \(difference)")
    }

    /// A ratio whose groups would be over half the target (148:93), or a target not smaller than the source, is left
    /// to the whole-image resize.
    @Test func declinesWhatItCannotDoExactly() {
        #expect(RowShrinker(sourceWidth: 100, sourceHeight: 148, width: 75, height: 93) == nil)
        #expect(RowShrinker(sourceWidth: 100, sourceHeight: 148, width: 120, height: 74) == nil)
        #expect(RowShrinker(sourceWidth: 100, sourceHeight: 148, width: 100, height: 148) == nil)
    }
}
