import Foundation
import Imaging
import Inference
import TestSupport
import Testing
import UpscaleCore

extension PipelineTests {
    // MARK: - Quality

    /// Upscale a 64x64 crop of a photo 4x, box-average the result back to 64x64 and compare with the crop.
    ///
    /// A super-resolution model's output, averaged over each 4x4 block, should give back the input closely. A broken
    /// engine (wrong weights, layout or blending) gives noise or smears far below the bar. Tolerance: PSNR > 25 dB
    /// over the three channels in [0, 1].
    @Test(arguments: ["astronaut.png", "chelsea.png", "coffee.png"])
    func downsampledUpscaleMatchesInput(photo: String) throws {
        let file = PipelineFixtures.photo(photo)
        try #require(
            FileManager.default.fileExists(atPath: file.path),
            "missing fixture \(file.path); set UPSCALER_FIXTURES or run scripts/setup.sh")
        let full = try Imaging.decode(file: file.path, limits: .default)
        let crop = Self.cropped(full, x: full.width / 2 - 32, y: full.height / 2 - 32, width: 64, height: 64)

        let scratch = try ScratchFolder()
        let input = try scratch.write(try pngBytes(crop), to: "crop.png")
        let output = scratch.path("crop-x4.png")
        _ = try PipelineFixtures.upscaler().upscale(file: input, to: output, options: PipelineFixtures.options())
        let upscaled = try Imaging.decode(file: output, limits: .default)
        try #require(upscaled.width == 256 && upscaled.height == 256)

        let back = Self.boxDownsampled(upscaled, by: 4)
        let quality = Self.psnr(back.pixels, crop.pixels)
        #expect(quality > 25, "PSNR \(quality) dB")

        // Control: the crop has enough detail that a flat image of its mean colour stays well under the bar.
        let mean = crop.pixels.reduce(0, +) / Float(crop.pixels.count)
        #expect(Self.psnr([Float](repeating: mean, count: crop.pixels.count), crop.pixels) < 25)
    }

    /// PSNR known answers: a uniform error of 0.1 is 20 dB; one 8-bit level is 20·log10(255) ≈ 48.13 dB.
    @Test func psnrKnownAnswers() {
        let a = [Float](repeating: 0.5, count: 48)
        #expect(abs(Self.psnr(a, a.map { $0 + 0.1 }) - 20) < 1e-3)
        #expect(abs(Self.psnr(a, a.map { $0 - 1 / 255 }) - 48.1308) < 1e-3)
    }
}
