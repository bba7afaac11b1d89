import CVulkan

extension VulkanContext {
    /// Records `body` into a fresh command buffer, runs it and waits: for one-off uploads.
    func submitAndWait(_ body: (VkCommandBuffer) throws -> Void) throws {
        let commands = try CommandBuffer(self)
        try commands.record(oneTime: true, body)
        try commands.submitAndWait()
    }
}
