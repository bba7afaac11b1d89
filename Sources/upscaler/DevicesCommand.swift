import ArgumentParser
import Foundation
import Inference
import InferenceCPU
import InferenceVulkan
import UpscaleCore

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the CPU and the Vulkan devices the model can run on, and which one --device auto picks.")

    func run() throws {
        print("cpu: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(CPUInstructionSet.name) (oneDNN)")
        do {
            let devices = try VulkanDevices.list()
            if devices.isEmpty { print("gpu: none (the Vulkan driver reports no device)") }
            for device in devices {
                let budget = device.budgetBytes == device.memoryBytes ? "" : ", \(device.budgetBytes >> 20) MiB free"
                print(
                    "gpu:\(device.index): \(device.name) (\(device.kind.rawValue), \(device.memoryBytes >> 20) MiB\(budget), "
                        + "fp16 \(device.fp16 ? "yes" : "no"), Vulkan \(device.apiVersion))")
            }
        } catch let error as InferenceError {
            print("gpu: none (\(error.message))")
        }
        print("auto: \(try ComputeTarget.resolve(.auto))")
    }
}
