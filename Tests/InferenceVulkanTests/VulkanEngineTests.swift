import Inference
import InferenceVulkan
import TestSupport
import Testing

/// The Vulkan engine against the plain Swift reference kernels, on the op cases every backend runs.
///
/// In CI and here the device is Mesa's lavapipe (a real Vulkan implementation on the CPU); with no Vulkan device these
/// tests fail rather than skip. Tolerances, absolute on values of order 1: fp32 within 1e-4 (the sums are reordered,
/// not rounded differently; measured at most 2.4e-7); fp16 within 1e-2, since every activation and weight is stored
/// as fp16 (relative error up to 2^-11 each), convolutions sum 16 products at a time in fp16, and a case chains up to
/// five layers of such rounding (measured at most 2.3e-3 over these cases).
@Suite("Vulkan engine against the reference kernels", .serialized)
struct VulkanEngineTests {
    static func device() throws -> GPUDevice {
        guard let device = try VulkanDevices.resolve(.gpu(nil), among: try VulkanDevices.list()) else {
            throw TestFailure("no Vulkan device")
        }
        return device
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    func compare(
        _ network: Network, input: Tensor, precision: Precision, tolerance: Float,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let engine = try VulkanEngine(network: network, device: try Self.device().index, precision: precision)
        #expect(engine.precision == precision)
        let check = try checkAgainstReference(engine, input: input)
        #expect(check.shapesMatch, sourceLocation: sourceLocation)
        #expect(
            check.difference <= tolerance, "max |gpu - reference| = \(check.difference)",
            sourceLocation: sourceLocation)
        #expect(
            check.repeatable, "a second submit of the recorded command buffer differs",
            sourceLocation: sourceLocation)
    }

    @Test(arguments: OpCase.all)
    func fp32(_ c: OpCase) throws {
        let (network, input) = try c.build()
        try compare(network, input: input, precision: .fp32, tolerance: 1e-4)
    }

    @Test(arguments: OpCase.all)
    func fp16(_ c: OpCase) throws {
        let (network, input) = try c.build()
        try compare(network, input: input, precision: .fp16, tolerance: 1e-2)
    }

    /// Shapes change between tiles at an image's edges: a new plan replaces the old one and gives the right answer.
    @Test func replansWhenTheInputShapeChanges() throws {
        let (network, _) = try OpCase.all[1].build()
        let engine = try VulkanEngine(network: network, device: try Self.device().index, precision: .fp32)
        var random = SeededRandom(seed: 4)
        for (h, w) in [(9, 9), (5, 12), (9, 9), (1, 1)] {
            let input = random.tensor(3, h, w)
            #expect(maxAbsDifference(try engine.run(input), try ReferenceKernels.run(network, input: input)) <= 1e-4)
        }
    }

    /// Pipelines are specialised on the tile's size; an engine that sees many sizes keeps only the last few plans'.
    @Test func pipelinesOfOldShapesAreDropped() throws {
        let (network, _) = try OpCase.all[1].build()
        let engine = try VulkanEngine(network: network, device: try Self.device().index, precision: .fp32)
        var random = SeededRandom(seed: 8)
        var counts: [Int] = []
        for size in 5...14 {
            _ = try engine.run(random.tensor(3, size, size))
            counts.append(engine.cachedPipelines)
        }
        // Two convolutions per shape plus nothing else: at most four shapes' worth are kept.
        #expect(counts.max()! <= 8, "\(counts)")
        #expect(counts.last! >= 2)
    }

    /// Without `--tile` a GPU gets the largest tile its limits allow. This network's largest buffer is its 16-channel
    /// 4x upsampled output, 16 * (4t)^2 floats for a tile of t: the chosen tile runs, and where the next size up needs
    /// a buffer past what one shader may address (lavapipe: 128 MiB, so t = 256 runs and 384 does not), that size fails
    /// with one line rather than crashing.
    @Test func tilesAreSizedFromTheDevice() throws {
        var b = ModelBuilder(seed: 41)
        b.convolution("data", "f", inChannels: 3, outChannels: 16, kernel: 1, pad: 0)
        b.layer("Interp", "up", ["f"], ["output"], "0=1 1=4.000000e+00 2=4.000000e+00")
        let device = try Self.device()
        let engine = try VulkanEngine(network: try b.network(), device: device.index, precision: .fp32)
        let tile = engine.largestTile()
        #expect(UInt64(16 * (4 * tile) * (4 * tile) * 4) <= device.maxBufferBytes)
        let out = try engine.run(b.random.tensor(3, tile, tile))
        #expect(out.shape == Shape(channels: 16, height: 4 * tile, width: 4 * tile))
        let candidates = [1024, 768, 512, 384, 256, 192, 128, 96, 64]
        if let next = candidates.last(where: { $0 > tile }),
            UInt64(16 * (4 * next) * (4 * next) * 4) > device.maxBufferBytes
        {
            #expect(throws: InferenceError.self) { try engine.run(b.random.tensor(3, next, next)) }
        }
    }

    /// An engine dropped after a run is freed with its plan and device memory (the worker drops the engine of a lost
    /// device and opens a new one; a cycle between engine and plan would keep the old device forever).
    @Test func anEngineIsFreedWithItsPlan() throws {
        let (network, input) = try OpCase.all[0].build()
        weak var dropped: VulkanEngine?
        do {
            let engine = try VulkanEngine(network: network, device: try Self.device().index, precision: .fp32)
            _ = try engine.run(input)
            #expect(engine.planBytes > 0)
            // Released buffers (after a job of an unusual tile) are planned again by the next run.
            engine.releaseBuffers()
            #expect(engine.planBytes == 0)
            _ = try engine.run(input)
            #expect(engine.planBytes > 0)
            dropped = engine
        }
        #expect(dropped == nil)
    }

    /// More output pixels than one dispatch row of workgroups holds (65535 x 64), so the convolution's tile index
    /// continues along z, and the element-wise loops stride.
    @Test func imagesPastOneDispatchRow() throws {
        var b = ModelBuilder(seed: 31)
        b.convolution("data", "f", inChannels: 3, outChannels: 4, kernel: 1, pad: 0)
        b.layer("Interp", "up", ["f"], ["u"], "0=1 1=4.000000e+00 2=4.000000e+00")
        b.convolution("u", "output", inChannels: 4, outChannels: 3, kernel: 1, pad: 0)
        let network = try b.network()
        let input = b.random.tensor(3, 520, 520)  // 2080 x 2080 = 4.3 M pixels after the upsampling
        let engine = try VulkanEngine(network: network, device: try Self.device().index, precision: .fp32)
        let out = try engine.run(input)
        let reference = try ReferenceKernels.run(network, input: input)
        #expect(maxAbsDifference(out, reference) <= 1e-4)
    }

    @Test func devicesAreListedAndChosenByTheRule() throws {
        let devices = try VulkanDevices.list()
        #expect(!devices.isEmpty)
        for device in devices {
            #expect(!device.name.isEmpty)
            #expect(device.memoryBytes > 0)
            #expect(device.budgetBytes <= device.memoryBytes)
        }
        // `auto` never takes a software driver; `gpu` does when it is all there is; `cpu` takes none.
        let software = devices.filter { $0.kind == .cpu }
        if software.count == devices.count {
            #expect(try VulkanDevices.resolve(.auto, among: devices) == nil)
        }
        #expect(try VulkanDevices.resolve(.cpu, among: devices) == nil)
        #expect(try VulkanDevices.resolve(.gpu(0), among: devices)?.index == 0)
        #expect(throws: InferenceError.self) { try VulkanDevices.resolve(.gpu(devices.count), among: devices) }
        #expect(throws: InferenceError.self) { try VulkanDevices.resolve(.gpu(nil), among: []) }
        #expect(try VulkanDevices.resolve(.auto, among: []) == nil)
    }

    @Test func autoPrefersADiscreteGPUThenAnIntegratedOne() throws {
        func device(_ index: Int, _ kind: GPUDevice.Kind) -> GPUDevice {
            GPUDevice(
                index: index, name: "test \(index)", kind: kind, memoryBytes: 1 << 30, budgetBytes: 1 << 30,
                maxBufferBytes: 1 << 27, fp16: true, apiVersion: "1.3.0")
        }
        let machine = [device(0, .cpu), device(1, .integrated), device(2, .discrete)]
        #expect(try VulkanDevices.resolve(.auto, among: machine)?.index == 2)
        #expect(try VulkanDevices.resolve(.gpu(nil), among: machine)?.index == 2)
        #expect(try VulkanDevices.resolve(.auto, among: Array(machine.prefix(2)))?.index == 1)
        #expect(try VulkanDevices.resolve(.auto, among: [machine[0]]) == nil)
        #expect(try VulkanDevices.resolve(.gpu(nil), among: [machine[0]])?.index == 0)
    }

    @Test func deviceChoicesParse() {
        #expect(DeviceChoice("auto") == .auto)
        #expect(DeviceChoice("CPU") == .cpu)
        #expect(DeviceChoice("gpu") == .gpu(nil))
        #expect(DeviceChoice("gpu:2") == .gpu(2))
        for bad in ["", "gpu:", "gpu:-1", "gpu:x", "tpu", "gpu:1:2"] { #expect(DeviceChoice(bad) == nil, "\(bad)") }
    }

    @Test func bf16IsRefusedOnTheGPU() throws {
        let (network, _) = try OpCase.all[0].build()
        #expect(throws: InferenceError.self) {
            try VulkanEngine(network: network, device: try Self.device().index, precision: .bf16)
        }
    }
}
