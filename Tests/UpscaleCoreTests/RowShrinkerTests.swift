import Imaging
import Inference
import TestSupport
import Testing

@testable import UpscaleCore

/// The row shrinker (a 4x model's rows shrunk to 2x as they come) against libvips resizing the whole image at once.
struct RowShrinkerTests {
    /// Rows fed in uneven bands give the whole-image resize, to the bit: at ratios 2 and 4, a width that does not
    /// divide, 4:3 (a 4x model at 3x), 8:5 (at 2.5x), ratios in lowest terms with no small factor (148:93, and
    /// 404:253, a 4x model's output of a 101-row image at 2.5x), and a shrink of the width alone.
    @Test(arguments: [
        (148, 116, 74, 58), (148, 116, 37, 29), (148, 117, 74, 50), (64, 40, 32, 40), (148, 116, 111, 87),
        (160, 116, 100, 72), (148, 100, 93, 75), (404, 40, 253, 25), (60, 80, 60, 50),
    ])
    func bandsGiveTheWholeImageResize(sourceHeight: Int, sourceWidth: Int, height: Int, width: Int) throws {
        var random = SeededRandom(seed: UInt64(sourceHeight * 1000 + width))
        let source = random.tensor(3, sourceHeight, sourceWidth, 0, 1)
        let whole = try Imaging.resize(RGBImage(source), width: width, height: height)
        var shrinker = try #require(
            RowShrinker(sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: width, height: height))
        let bands = [1, 7, 30, 2, 45]
        var (row, index, mostHeld) = (0, 0, 0)
        while row < sourceHeight {
            let rows = min(bands[index % bands.count], sourceHeight - row)
            try shrinker.add(firstRow: row, rows: source.cropped(y: row, x: 0, height: rows, width: sourceWidth))
            (row, index, mostHeld) = (row + rows, index + 1, max(mostHeld, shrinker.heldRows))
        }
        #expect(shrinker.isComplete)
        // At most one band and the Lanczos3 kernel's reach (3 output rows, plus rounding) on each side is held.
        let reach = Int((3 * Double(sourceHeight) / Double(height)).rounded(.up)) + 6
        #expect(mostHeld <= bands.max()! + 2 * reach, "held \(mostHeld) of \(sourceHeight) source rows")
        let difference = zip(shrinker.output.data, whole.pixels).map { abs($0 - $1) }.max() ?? .infinity
        #expect(shrinker.output.data.count == whole.pixels.count && difference == 0, "max difference \(difference)")
    }

    /// A target larger than the source on either axis, or the source's own size, is not a shrink.
    @Test func declinesWhatIsNotAShrink() {
        #expect(RowShrinker(sourceWidth: 100, sourceHeight: 148, width: 120, height: 74) == nil)
        #expect(RowShrinker(sourceWidth: 100, sourceHeight: 148, width: 50, height: 150) == nil)
        #expect(RowShrinker(sourceWidth: 100, sourceHeight: 148, width: 100, height: 148) == nil)
    }
}
