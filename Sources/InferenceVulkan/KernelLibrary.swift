import Inference

/// Compiles each shader once per precision and makes one pipeline per set of specialisation constants, so layers of
/// the same shape share a pipeline.
///
/// Convolution pipelines are specialised on their layer's spatial size, which follows the tile and so the image: a
/// worker that sees many image sizes would collect pipelines without end. Each plan is a generation, and pipelines
/// that no plan of the last `keptGenerations` used are dropped (the plans that still run them hold them).
final class KernelLibrary {
    let context: VulkanContext
    let fp16: Bool
    private var spirv: [Shader: [UInt32]] = [:]
    private var pipelines: [PipelineKey: (pipeline: ComputePipeline, generation: Int)] = [:]
    private var generation = 0
    private let keptGenerations = 4

    private struct PipelineKey: Hashable {
        let shader: Shader
        let specialization: [UInt32]
    }

    init(_ context: VulkanContext, fp16: Bool) {
        self.context = context
        self.fp16 = fp16
    }

    /// Starts the pipelines of a new plan, forgetting those the last few plans did not use.
    func beginPlan() {
        generation += 1
        pipelines = pipelines.filter { generation - $0.value.generation < keptGenerations }
    }

    /// Pipelines cached now, for tests and diagnostics.
    var pipelineCount: Int { pipelines.count }

    func pipeline(_ shader: Shader, _ specialization: [UInt32] = []) throws -> ComputePipeline {
        let key = PipelineKey(shader: shader, specialization: specialization)
        if let made = pipelines[key] {
            pipelines[key] = (made.pipeline, generation)
            return made.pipeline
        }
        let code: [UInt32]
        if let compiled = spirv[shader] {
            code = compiled
        } else {
            code = try ShaderCompiler.shared.get().spirv(
                shader.source, name: "\(shader.rawValue).comp",
                macros: ["FP16": fp16 ? "1" : "0"])
            spirv[shader] = code
        }
        let made = try ComputePipeline(
            context, spirv: code, name: shader.rawValue, bindings: shader.bindings,
            pushBytes: shader.pushBytes, specialization: specialization)
        pipelines[key] = (made, generation)
        return made
    }
}
