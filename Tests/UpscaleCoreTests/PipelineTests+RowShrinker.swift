import Foundation
import Imaging
import Inference
import TestSupport
import Testing
import UpscaleCore

extension PipelineTests {
    /// A 4x model asked for 2x or 3x shrinks the rows of its output as they come, never holding the 4x image: the
    /// result is the pipeline's own 4x output resized in one piece, within 16-bit rounding, over several tile rows
    /// (tile 32 on a 45x38 input) and on both sides of every band's edge. The input is smooth and inside [0.3, 0.7], so the
    /// model's output stays inside [0, 1] and the 4x file's clipping plays no part.
    @Test(arguments: [2, 3])
    func smallerScalesAreTheFourTimesOutputResizedWhole(scale: Int) throws {
        let (width, height) = (45, 38)
        var samples: [UInt16] = []
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    let phase = Double(x * (c + 2) + y * (3 - c)) * 0.06
                    let wave: Double = sin(phase) * 0.5 + 0.5
                    samples.append(UInt16((0.3 + 0.4 * wave) * 65535))
                }
            }
        }
        let png = TestPNG.encode(width: width, height: height, colorType: .rgb, bitDepth: 16, samples: samples)
        let upscaler = try PipelineFixtures.upscaler()
        var options = PipelineFixtures.options(
            scale: Double(scale), tiling: TilingOptions(tile: 32, overlap: 8, pad: 10))
        let small = try upscaler.upscale(data: png, options: options).bytes
        options.scale = 4
        let four = try upscaler.upscale(data: png, options: options).bytes
        let smallImage = try Imaging.decode(data: small, limits: .default)
        let expected = try Imaging.resize(
            try Imaging.decode(data: four, limits: .default), width: scale * width, height: scale * height)
        #expect(smallImage.width == scale * width && smallImage.height == scale * height)
        let difference = zip(smallImage.pixels, expected.pixels).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference <= 3 / 65535, "max difference \(difference * 65535) / 65535")
    }
}
