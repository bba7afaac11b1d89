import Benchmarks
import Foundation
import Inference
import InferenceVulkan
import Testing
import UpscaleCore

/// The Vulkan engine on whole shipped models and natural photos: against the independent ncnn package (fp32), tiled
/// against untiled on the GPU, and fp16 against fp32.
///
/// Here and in CI the device is Mesa's lavapipe, which runs the shaders on the CPU and is slow, so the crops are small
/// (64 px for animevideov3, 24 px for x4plus). With no Vulkan device these tests fail, never skip.
/// Tolerances as for the CPU engine (FidelityTests): at most 1 level apart and at least 99 % identical 8-bit values
/// against ncnn in fp32; tiled against untiled at least 45 dB. fp16 against fp32: at least 50 dB and 80 % identical.
@Suite("GPU fidelity against ncnn, and seams", .serialized)
struct GPUFidelityTests {
    static func engine(_ model: String, precision: Precision) throws -> VulkanEngine {
        let files = try FidelityTests.store.locate(model)
        guard let device = try VulkanDevices.resolve(.gpu(nil), among: try VulkanDevices.list()) else {
            throw UpscaleError(.invalidOption, "no Vulkan device")
        }
        return try VulkanEngine(
            network: try Network(paramFile: files.param, binFile: files.bin), device: device.index,
            precision: precision)
    }

    @Test(arguments: [
        FidelityTests.Case(model: "realesr-animevideov3", photo: "astronaut.png", size: 64, pad: 10),
        FidelityTests.Case(model: "realesr-animevideov3", photo: "chelsea.png", size: 64, pad: 0),
        FidelityTests.Case(model: "realesrgan-x4plus", photo: "coffee.png", size: 24, pad: 0),
    ])
    func fp32MatchesNCNN(_ c: FidelityTests.Case) throws {
        let input = try FidelityTests.crop(c.photo, size: c.size)
        let engine = try Self.engine(c.model, precision: .fp32)
        let ours = try FidelityTests.untiled(input, engine, pad: c.pad)
        let theirs = try FidelityTests.ncnn(c.model, input, pad: c.pad)
        FidelityTests.expectWithinOneLevel(ours, theirs)
    }

    /// 40 px tiles on a 96 px crop with the default padding: a 4x4 grid whose overlaps are blended.
    @Test func tiledMatchesUntiledOnTheGPU() throws {
        let input = try FidelityTests.crop("coffee.png", size: 96)
        let engine = try Self.engine("realesr-animevideov3", precision: .fp32)
        let pad = TilingOptions().pad
        let whole = try FidelityTests.untiled(input, engine, pad: pad)
        let options = TilingOptions(tile: 40, overlap: 12, pad: pad)
        #expect(Tiler.tileCount(height: 96, width: 96, options: options) >= 9)
        let tiled = try Tiler.upscale(input, scale: 4, engine: engine, options: options)
        let psnr = Benchmark.agreement(tiled, whole).psnr
        #expect(psnr >= 45, "tiled vs untiled PSNR \(psnr) dB")
    }

    @Test func fp16StaysCloseToFP32() throws {
        let input = try FidelityTests.crop("astronaut.png", size: 64)
        let exact = try FidelityTests.untiled(input, try Self.engine("realesr-animevideov3", precision: .fp32), pad: 10)
        let half = try Self.engine("realesr-animevideov3", precision: .fp16)
        #expect(half.precision == .fp16)
        let agreement = Benchmark.agreement(try FidelityTests.untiled(input, half, pad: 10), exact)
        #expect(agreement.psnr >= 50, "PSNR \(agreement.psnr) dB")
        #expect(agreement.identicalFraction >= 0.8, "identical \(agreement.identicalFraction * 100)%")
        #expect(agreement.identicalFraction < 1)  // it really ran in reduced precision
    }
}
