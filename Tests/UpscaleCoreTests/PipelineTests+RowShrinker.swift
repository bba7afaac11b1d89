import Foundation
import Imaging
import Inference
import TestSupport
import Testing
import UpscaleCore

extension PipelineTests {
    /// A 4x model asked for 2x, 3x or 2.5x shrinks the rows of its output as they come, never holding the 4x image:
    /// the result is the pipeline's own 4x output resized in one piece, within 16-bit rounding, over several tile
    /// rows (tile 32 on a 45x37 input) and on both sides of every band's edge. At 2.5x the heights, 148 and 92 or 93,
    /// share no small factor. The input is smooth and inside [0.3, 0.7], so the
    /// model's output stays inside [0, 1] and the 4x file's clipping plays no part.
    @Test(arguments: [2, 3, 2.5])
    func smallerScalesAreTheFourTimesOutputResizedWhole(scale: Double) throws {
        let (width, height) = (45, 37)
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
            scale: scale, tiling: TilingOptions(tile: 32, overlap: 8, pad: 10))
        let small = try upscaler.upscale(data: png, options: options).bytes
        options.scale = 4
        let four = try upscaler.upscale(data: png, options: options).bytes
        let smallImage = try Imaging.decode(data: small, limits: .default)
        let expected = try Imaging.resize(
            try Imaging.decode(data: four, limits: .default), width: smallImage.width, height: smallImage.height)
        #expect(abs(Double(smallImage.width) - scale * Double(width)) <= 0.5)
        #expect(abs(Double(smallImage.height) - scale * Double(height)) <= 0.5)
        let difference = zip(smallImage.pixels, expected.pixels).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference <= 3 / 65535, "max difference \(difference * 65535) / 65535")
    }

    /// With alpha, both alpha upsamplers: colour and alpha at 2x and 2.5x are the pipeline's own 4x output resized
    /// whole, within 16-bit rounding. Alpha is enlarged and shrunk a band of rows at a time (Lanczos) or shrunk from the
    /// model's rows as they come (model), so neither plane exists at the model's size.
    @Test(arguments: [AlphaUpsampler.lanczos, .model], [2, 2.5])
    func alphaAtSmallerScalesIsTheFourTimesAlphaResizedWhole(upsampler: AlphaUpsampler, scale: Double) throws {
        let (width, height) = (45, 37)
        var samples: [UInt16] = []
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    let wave: Double = sin(Double(x * (c + 2) + y * (3 - c)) * 0.06) * 0.5 + 0.5
                    samples.append(UInt16((0.3 + 0.4 * wave) * 65535))
                }
                // Opaque, transparent and ramps between, kept away from 0 and 1 so clamping plays no part.
                let ramp: Double = sin(Double(x) * 0.2) * cos(Double(y) * 0.15) * 0.4 + 0.5
                samples.append(UInt16(ramp * 65535))
            }
        }
        let png = TestPNG.encode(width: width, height: height, colorType: .rgba, bitDepth: 16, samples: samples)
        let upscaler = try PipelineFixtures.upscaler()
        var options = PipelineFixtures.options(scale: scale, tiling: TilingOptions(tile: 32, overlap: 8, pad: 10))
        options.alphaUpsampler = upsampler
        let small = try Imaging.decode(data: try upscaler.upscale(data: png, options: options).bytes, limits: .default)
        options.scale = 4
        let four = try Imaging.decode(data: try upscaler.upscale(data: png, options: options).bytes, limits: .default)
        let expected = try Imaging.resize(four, width: small.width, height: small.height)
        #expect(abs(Double(small.height) - scale * Double(height)) <= 0.5)
        let colour = zip(small.pixels, expected.pixels).map { abs($0 - $1) }.max() ?? .infinity
        let alpha = zip(try #require(small.alpha), try #require(expected.alpha)).map { abs($0 - $1) }.max() ?? .infinity
        #expect(colour <= 3 / 65535, "colour differs by \(colour * 65535) / 65535")
        #expect(alpha <= 3 / 65535, "alpha differs by \(alpha * 65535) / 65535")
    }
}
