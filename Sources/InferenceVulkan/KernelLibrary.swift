import Inference

/// Compiles each shader once per precision and makes one pipeline per set of specialisation constants, so layers of
/// the same shape share a pipeline.
final class KernelLibrary {
    let context: VulkanContext
    let fp16: Bool
    private var spirv: [Shader: [UInt32]] = [:]
    private var pipelines: [PipelineKey: ComputePipeline] = [:]

    private struct PipelineKey: Hashable {
        let shader: Shader
        let specialization: [UInt32]
    }

    init(_ context: VulkanContext, fp16: Bool) {
        self.context = context
        self.fp16 = fp16
    }

    func pipeline(_ shader: Shader, _ specialization: [UInt32] = []) throws -> ComputePipeline {
        let key = PipelineKey(shader: shader, specialization: specialization)
        if let made = pipelines[key] { return made }
        let code: [UInt32]
        if let compiled = spirv[shader] {
            code = compiled
        } else {
            code = try ShaderCompiler.shared.get().spirv(shader.source, name: "\(shader.rawValue).comp",
                                                          macros: ["FP16": fp16 ? "1" : "0"])
            spirv[shader] = code
        }
        let made = try ComputePipeline(context, spirv: code, name: shader.rawValue, bindings: shader.bindings,
                                       pushBytes: shader.pushBytes, specialization: specialization)
        pipelines[key] = made
        return made
    }
}
