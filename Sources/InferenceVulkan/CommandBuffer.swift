import CVulkan
import Inference

/// A primary command buffer with the fence its submissions signal.
final class CommandBuffer {
    let context: VulkanContext
    let handle: VkCommandBuffer
    private let fence: VkFence

    init(_ context: VulkanContext) throws {
        self.context = context
        let vk = context.vk
        var info = VkCommandBufferAllocateInfo()
        info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        info.commandPool = context.commandPool
        info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        info.commandBufferCount = 1
        var buffer: VkCommandBuffer?
        try check(vk.allocateCommandBuffers(context.device, &info, &buffer), "vkAllocateCommandBuffers")
        guard let buffer else { throw InferenceError(.backendFailure, "no command buffer") }
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence?
        let result = vk.createFence(context.device, &fenceInfo, nil, &fence)
        guard result == VK_SUCCESS, let fence else {
            var freed: VkCommandBuffer? = buffer
            vk.freeCommandBuffers(context.device, context.commandPool, 1, &freed)
            try check(result, "vkCreateFence")
            throw InferenceError(.backendFailure, "no fence")
        }
        handle = buffer
        self.fence = fence
    }

    deinit {
        let vk = context.vk
        _ = vk.deviceWaitIdle(context.device)
        vk.destroyFence(context.device, fence, nil)
        var freed: VkCommandBuffer? = handle
        vk.freeCommandBuffers(context.device, context.commandPool, 1, &freed)
    }

    /// Records the buffer's commands; `oneTime` marks a buffer that is submitted once.
    func record(oneTime: Bool, _ body: (VkCommandBuffer) throws -> Void) throws {
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = oneTime ? VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue : 0
        try check(context.vk.beginCommandBuffer(handle, &begin), "vkBeginCommandBuffer")
        try body(handle)
        try check(context.vk.endCommandBuffer(handle), "vkEndCommandBuffer")
    }

    /// Submits the recorded commands and waits until the device has run them.
    func submitAndWait() throws {
        let vk = context.vk
        var fence: VkFence? = self.fence
        try check(vk.resetFences(context.device, 1, &fence), "vkResetFences")
        var buffer: VkCommandBuffer? = handle
        let submitted: VkResult = withUnsafePointer(to: &buffer) { bufferPointer in
            var submit = VkSubmitInfo()
            submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
            submit.commandBufferCount = 1
            submit.pCommandBuffers = bufferPointer
            return vk.queueSubmit(context.queue, 1, &submit, self.fence)
        }
        try check(submitted, "vkQueueSubmit")
        try check(vk.waitForFences(context.device, 1, &fence, VK_TRUE, UInt64.max), "vkWaitForFences")
    }
}
