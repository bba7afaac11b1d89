import Foundation
import Testing

@testable import ModelFormats

/// Hand-written pickles and files that a state dict never holds: each is one clear error, found before anything
/// deep or cyclic is built (its release could otherwise run out of stack), and nothing is ever called.
struct RestrictedUnpicklerTests {
    /// PROTO 2, then `body`, then STOP.
    static func pickle(_ body: [UInt8]) -> [UInt8] { [0x80, 0x02] + body + [UInt8(ascii: ".")] }

    static func message(_ bytes: [UInt8]) -> String? {
        var unpickler = RestrictedUnpickler(bytes, file: "test.pth")
        do {
            _ = try unpickler.load()
            return nil
        } catch let error as ModelFileError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func aStateDictShapedPickleLoads() throws {
        // OrderedDict() with {"a": 1, "b": (2, 3)} set on it.
        let key = { (s: String) in [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
        let body: [UInt8] =
            Array("ccollections\nOrderedDict\n".utf8) + [UInt8(ascii: ")"), UInt8(ascii: "R"), UInt8(ascii: "(")]
            + key("a") + [UInt8(ascii: "K"), 1] + key("b") + [UInt8(ascii: "K"), 2, UInt8(ascii: "K"), 3, 0x86]
            + [UInt8(ascii: "u")]
        var unpickler = RestrictedUnpickler(Self.pickle(body), file: "test.pth")
        guard case .dict(let dict) = try unpickler.load() else {
            Issue.record("not a dictionary")
            return
        }
        #expect(dict.keys == ["a", "b"])
        guard case .tuple(let pair)? = dict.values["b"], case .int(3) = pair.items[1] else {
            Issue.record("b is not (2, 3)")
            return
        }
    }

    @Test func hostilePicklesAreRefused() {
        let emptyTuple = UInt8(ascii: ")"), tuple1: UInt8 = 0x85
        let cases: [(String, [UInt8], String)] = [
            ("a global outside the allowlist", Array("cposix\nsystem\n".utf8), "asks for posix.system"),
            ("tuples 40 deep", [emptyTuple] + [UInt8](repeating: tuple1, count: 40), "nest deeper than 32"),
            // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND: the list inside itself.
            ("a list inside itself", [UInt8(ascii: "]"), 0x71, 0, 0x68, 0, UInt8(ascii: "a")], "inside itself"),
            // L0 = [], L1 = [], L0.append(L1), then L1.append(None) through the memo.
            (
                "a list changed after it was nested",
                [
                    UInt8(ascii: "]"), 0x71, 0, UInt8(ascii: "]"), 0x71, 1, UInt8(ascii: "a"), 0x68, 1,
                    UInt8(ascii: "N"), UInt8(ascii: "a"),
                ], "changed after it was put inside another"
            ),
            ("an opcode a state dict never uses", [UInt8(ascii: "I")] + Array("1\n".utf8), "opcode 0x49"),
            ("a string running past the end", [0x8C, 200, 65], "ends early"),
            (
                "a key seen twice",
                [UInt8(ascii: "}"), UInt8(ascii: "(")] + [0x8C, 1, 97, 0x4E, 0x8C, 1, 97, 0x4E, 0x75],
                "holds a twice"
            ),
        ]
        for (name, body, fragment) in cases {
            let message = Self.message(Self.pickle(body))
            #expect(message?.contains(fragment) == true, "\(name): \(message ?? "loaded")")
        }
    }

    /// The safetensors header length is little-endian: one whose low byte is 0x80 (here 128) is not the pickle
    /// protocol opcode a pre-1.6 PyTorch file starts with, which is refused by name.
    @Test func formatsAreToldByTheirBytes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var header = Array(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
        header += [UInt8](repeating: UInt8(ascii: " "), count: 128 - header.count)
        let safetensors = [128, 0, 0, 0, 0, 0, 0, 0] + header + [0, 0, 0x80, 0x3F]
        let file = folder.appendingPathComponent("x.safetensors")
        try Data(safetensors).write(to: file)
        let dict = try ModelFile.read(file)
        #expect(dict["x"] == WeightTensor(shape: [1], values: [1]))
        let legacy = folder.appendingPathComponent("old.pth")
        try Data([0x80, 0x02, 0x8A, 0x0A] + [UInt8](repeating: 0, count: 12)).write(to: legacy)
        do {
            _ = try ModelFile.read(legacy)
            Issue.record("a pre-1.6 file was read")
        } catch let error as ModelFileError {
            #expect(error.message.contains("before 1.6"), "\(error.message)")
        }
    }
}
