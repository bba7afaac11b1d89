import Foundation
import Imaging
import Inference
import TestSupport
import Testing
import UpscaleCore

extension PipelineTests {
    /// The `width`x`height` window of `image` at (`x`, `y`).
    static func cropped(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        let plane = image.width * image.height
        var pixels: [Float] = []
        pixels.reserveCapacity(3 * width * height)
        for c in 0..<3 {
            for row in y..<(y + height) {
                let start = c * plane + row * image.width + x
                pixels += image.pixels[start..<(start + width)]
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Each `factor`x`factor` block replaced by its mean.
    static func boxDownsampled(_ image: RGBImage, by factor: Int) -> RGBImage {
        let width = image.width / factor, height = image.height / factor
        let plane = image.width * image.height
        var pixels = [Float](repeating: 0, count: 3 * width * height)
        for c in 0..<3 {
            for y in 0..<height {
                for x in 0..<width {
                    var sum: Float = 0
                    for dy in 0..<factor {
                        for dx in 0..<factor {
                            sum += image.pixels[c * plane + (y * factor + dy) * image.width + x * factor + dx]
                        }
                    }
                    pixels[(c * height + y) * width + x] = sum / Float(factor * factor)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Peak signal-to-noise ratio in dB for values in [0, 1].
    static func psnr(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count && !a.isEmpty)
        var sum = 0.0
        for i in a.indices {
            let d = Double(a[i]) - Double(b[i])
            sum += d * d
        }
        return 10 * log10(1 / (sum / Double(a.count)))
    }
}
