import Foundation
import HTTPTypes
import HummingbirdTesting
import ModelFormats
import TestSupport
import Testing
import UpscaleCore

@testable import UpscaleServer

/// A model imported from a safetensors file is listed by GET / with its own scale and network, requests may name it,
/// and the work a job will cost is estimated at its scale.
@Suite struct ImportedModelTests {
    /// A tiny SRVGGNetCompact at 2x (4 features, PReLU, no middle convolutions), written as safetensors by hand: the
    /// 8-byte header length, the JSON header, then the fp32 tensors in the header's order.
    static func tinySafetensors() -> [UInt8] {
        let tensors: [(String, [Int])] = [
            ("body.0.bias", [4]), ("body.0.weight", [4, 3, 3, 3]), ("body.1.weight", [4]),
            ("body.2.bias", [12]), ("body.2.weight", [12, 4, 3, 3]),
        ]
        var entries: [String] = [], offset = 0
        for (name, shape) in tensors {
            let bytes = 4 * shape.reduce(1, *)
            entries.append(
                "\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        let header = Array("{\(entries.joined(separator: ","))}".utf8)
        let length = UInt64(header.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + header
            + [UInt8](repeating: 0, count: offset)
    }

    @Test func anImportedModelIsListedAndAccepted() async throws {
        let server = try InProcessServer()
        let file = server.directory.url.appendingPathComponent("tiny.safetensors")
        try Data(Self.tinySafetensors()).write(to: file)
        let store = ModelStore(directory: server.directory.url.appendingPathComponent("models"))
        let imported = try store.importWeights(from: file, name: "tiny-x2")
        #expect(imported.architecture.scale == 2)
        try await server.test { client in
            let info = try await client.call(.get, "/")
            let models = info.json["models"] as? [[String: Any]] ?? []
            let tiny = try #require(models.first { $0["name"] as? String == "tiny-x2" }, "\(info.text)")
            #expect(tiny["scale"] as? Int == 2)
            let description = tiny["description"] as? String ?? ""
            #expect(description.contains("SRVGGNetCompact x2") && !description.contains("/"), "\(description)")
            let image = Data(testPNG(width: 12, height: 10)).base64EncodedString()
            let accepted = try await client.call(
                .post, "/jobs", token: InProcessServer.tokenA, json: ["image": image, "model": "tiny-x2"])
            #expect(accepted.status == 202, "\(accepted.text)")
            let refused = try await client.call(
                .post, "/jobs", token: InProcessServer.tokenA, json: ["image": image, "model": "tiny-x3"])
            #expect(refused.status == 400 && refused.text.contains("tiny-x2"), "\(refused.text)")
        }
        // Without a scale the job runs at the model's own: 2x, not the 4x of the built-in models.
        var options = UpscaleOptions(model: "tiny-x2")
        options.scale = nil
        let work = WorkEstimate(width: 100, height: 80, options: options, modelScale: 2)
        #expect(work.outputWidth == 200 && work.outputHeight == 160)
    }
}
