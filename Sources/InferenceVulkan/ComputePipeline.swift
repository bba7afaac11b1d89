import CVulkan
import Inference

/// One compiled compute shader with its layouts: `bindings` storage buffers, `pushBytes` of push constants and the
/// values of its specialisation constants (ids 0, 1, 2, ... in order).
final class ComputePipeline {
    let context: VulkanContext
    let setLayout: VkDescriptorSetLayout
    let layout: VkPipelineLayout
    let pipeline: VkPipeline
    let bindings: Int
    let pushBytes: Int

    init(
        _ context: VulkanContext, spirv: [UInt32], name: String, bindings: Int, pushBytes: Int,
        specialization: [UInt32]
    ) throws {
        self.context = context
        self.bindings = bindings
        self.pushBytes = pushBytes
        let vk = context.vk, device = context.device

        var module: VkShaderModule?
        try spirv.withUnsafeBufferPointer { code in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = code.count * 4
            info.pCode = code.baseAddress
            try check(vk.createShaderModule(device, &info, nil, &module), "vkCreateShaderModule(\(name))")
        }
        guard let module else { throw InferenceError(.backendFailure, "no shader module for \(name)") }
        defer { vk.destroyShaderModule(device, module, nil) }

        var layoutBindings = (0..<bindings).map { index -> VkDescriptorSetLayoutBinding in
            var binding = VkDescriptorSetLayoutBinding()
            binding.binding = UInt32(index)
            binding.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            binding.descriptorCount = 1
            binding.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
            return binding
        }
        var setLayout: VkDescriptorSetLayout?
        try layoutBindings.withUnsafeMutableBufferPointer { pointer in
            var info = VkDescriptorSetLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            info.bindingCount = UInt32(pointer.count)
            info.pBindings = UnsafePointer(pointer.baseAddress)
            try check(vk.createDescriptorSetLayout(device, &info, nil, &setLayout), "vkCreateDescriptorSetLayout")
        }
        guard let setLayout else { throw InferenceError(.backendFailure, "no descriptor set layout") }

        var range = VkPushConstantRange()
        range.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
        range.offset = 0
        range.size = UInt32(pushBytes)
        var layout: VkPipelineLayout?
        var setLayoutCopy: VkDescriptorSetLayout? = setLayout
        let layoutResult = withUnsafePointer(to: &range) { rangePointer in
            withUnsafePointer(to: &setLayoutCopy) { setPointer in
                var info = VkPipelineLayoutCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
                info.setLayoutCount = 1
                info.pSetLayouts = setPointer
                info.pushConstantRangeCount = pushBytes > 0 ? 1 : 0
                info.pPushConstantRanges = pushBytes > 0 ? rangePointer : nil
                return vk.createPipelineLayout(device, &info, nil, &layout)
            }
        }
        guard layoutResult == VK_SUCCESS, let layout else {
            vk.destroyDescriptorSetLayout(device, setLayout, nil)
            try check(layoutResult, "vkCreatePipelineLayout")
            throw InferenceError(.backendFailure, "no pipeline layout")
        }

        var entries = specialization.indices.map { index -> VkSpecializationMapEntry in
            VkSpecializationMapEntry(constantID: UInt32(index), offset: UInt32(index * 4), size: 4)
        }
        var pipeline: VkPipeline?
        let pipelineResult: VkResult = entries.withUnsafeMutableBufferPointer { entryPointer in
            specialization.withUnsafeBytes { data in
                "main".withCString { entryName in
                    var specializationInfo = VkSpecializationInfo()
                    specializationInfo.mapEntryCount = UInt32(entryPointer.count)
                    specializationInfo.pMapEntries = UnsafePointer(entryPointer.baseAddress)
                    specializationInfo.dataSize = data.count
                    specializationInfo.pData = data.baseAddress
                    return withUnsafePointer(to: &specializationInfo) { specializationPointer in
                        var stage = VkPipelineShaderStageCreateInfo()
                        stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
                        stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
                        stage.module = module
                        stage.pName = entryName
                        stage.pSpecializationInfo = specialization.isEmpty ? nil : specializationPointer
                        var info = VkComputePipelineCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
                        info.stage = stage
                        info.layout = layout
                        return vk.createComputePipelines(device, nil, 1, &info, nil, &pipeline)
                    }
                }
            }
        }
        guard pipelineResult == VK_SUCCESS, let pipeline else {
            vk.destroyPipelineLayout(device, layout, nil)
            vk.destroyDescriptorSetLayout(device, setLayout, nil)
            try check(pipelineResult, "vkCreateComputePipelines(\(name))")
            throw InferenceError(.backendFailure, "no pipeline for \(name)")
        }
        self.setLayout = setLayout
        self.layout = layout
        self.pipeline = pipeline
    }

    deinit {
        let vk = context.vk, device = context.device
        vk.destroyPipeline(device, pipeline, nil)
        vk.destroyPipelineLayout(device, layout, nil)
        vk.destroyDescriptorSetLayout(device, setLayout, nil)
    }
}
