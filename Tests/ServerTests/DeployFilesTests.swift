import Foundation
import Testing

/// The deployment files in `deploy/` call the binary; every subcommand and flag they use must exist, checked against
/// the binary's own `--help`.
@Suite(.enabled(if: ServerFixtures.executable != nil, "needs the upscaler executable"))
struct DeployFilesTests {
    /// Every `upscaler ...` invocation written in the deploy files, as words after the program name.
    static func invocations() throws -> [(file: String, words: [String])] {
        let root = ServerFixtures.repositoryRoot.appendingPathComponent("deploy")
        var found: [(String, [String])] = []
        let files = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? []
        for name in files.sorted() {
            let path = root.appendingPathComponent(name).path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                let text = line.trimmingCharacters(in: .whitespaces)
                if text.hasPrefix("#") || text.hasPrefix("COPY ") { continue }  // comments; files, not commands
                // systemd ExecStart lines and shell RUN lines: the words after the installed binary (not a folder
                // or a user that happens to be called upscaler).
                if let range = text.range(of: "bin/upscaler ") {
                    let words = text[range.upperBound...].split(separator: " ").map(String.init)
                        .prefix { !["&&", "\\", "|", ";"].contains($0) }
                    if !words.isEmpty { found.append((name, Array(words))) }
                }
                // Containerfile CMD and Kubernetes args: a JSON array of strings.
                for marker in ["CMD [", "args: ["] {
                    guard let start = text.range(of: marker) else { continue }
                    let array = "[" + text[start.upperBound...]
                    if let data = array.data(using: .utf8),
                        let words = try? JSONSerialization.jsonObject(with: data) as? [String]
                    {
                        found.append((name, words))
                    }
                }
            }
        }
        return found
    }

    @Test func everyCommandAndFlagExists() throws {
        let invocations = try Self.invocations()
        #expect(invocations.count >= 8, "found \(invocations.map(\.words))")
        let roles = Set(invocations.compactMap(\.words.first))
        #expect(roles.isSuperset(of: ["api", "worker", "migrate"]), "\(roles)")
        for (file, words) in invocations {
            let command = words.prefix { !$0.hasPrefix("-") }
            let flags = words.filter { $0.hasPrefix("--") }
            let help = try runTool([ServerFixtures.executable!] + command + ["--help"])
            // An unknown subcommand still exits 0 with the top-level help, so the usage line must name the command.
            let name = (["upscaler"] + command).joined(separator: " ")
            #expect(help.status == 0 && help.stdout.contains("USAGE: \(name) "), "\(file): \(name) does not exist")
            for flag in flags {
                let option = flag.split(separator: "=")[0]
                let listed = help.stdout.split(whereSeparator: { " ,\n[]".contains($0) }).contains { $0 == option }
                #expect(listed, "\(file): \(name) has no \(option)")
            }
        }
    }
}
