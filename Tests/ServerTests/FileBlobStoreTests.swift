import Foundation
import JobStore
import Logging
import Testing

/// The file blob store: whole-or-nothing writes, keys that cannot leave the folder, and the absolute paths that jobs
/// stored before blob keys existed.
struct FileBlobStoreTests {
    @Test func roundTripAndKeys() async throws {
        let scratch = try Scratch()
        let root = URL(fileURLWithPath: scratch.path("blobs"))
        let blobs = FileBlobStore(root: root)
        let bytes: [UInt8] = Array(0..<200).map { UInt8($0) }
        try await blobs.put("results/j-1.png", bytes)
        #expect(try await blobs.get("results/j-1.png") == bytes)
        #expect(try Data(contentsOf: root.appendingPathComponent("results/j-1.png")) == Data(bytes))
        // Private to the service's user: the file 0600, the folder it made 0700.
        let attributes = try FileManager.default.attributesOfItem(
            atPath: root.appendingPathComponent("results/j-1.png").path)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        let folder = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent("results").path)
        #expect(folder[.posixPermissions] as? Int == 0o700)
        // No temporary file is left beside it.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("results").path) == [
                "j-1.png"
            ])
        // A job row from before blob keys holds the absolute path.
        #expect(try await blobs.get(root.appendingPathComponent("results/j-1.png").path) == bytes)
        #expect(try await blobs.get("results/missing.png") == nil)
        for bad in ["../outside", "/etc/passwd", "results/../../x", "", "a//b"] {
            await #expect(throws: StoreError.self, "\(bad)") { try await blobs.put(bad, [1]) }
        }
        try await blobs.delete(["results/j-1.png", "results/never-there.png"])
        #expect(try await blobs.get("results/j-1.png") == nil)
    }
}
