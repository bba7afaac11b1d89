import Foundation
import Testing
import UpscaleCore

/// Hostile and broken files from `tools/hostile_corpus.py`, each run through the real `upscaler` executable: a clean
/// exit 1 (never a signal), exactly one stderr line naming the file and saying what is wrong, and no output left.
@Suite(
    .enabled(if: PipelineFixtures.modelInstalled, "realesr-animevideov3 is not installed; run `upscaler models fetch`"))
struct HostileFilesTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tools/hostile_corpus.py").path

    static func python(_ arguments: [String]) throws -> Subprocess.Outcome {
        try Subprocess.run("/usr/bin/env", ["python3", script] + arguments)
    }

    /// Writes the corpus and returns file name -> what its error must say, from the script's own listing.
    static func makeCorpus(in folder: String) throws -> [String: String] {
        let made = try python(["make", folder])
        #expect(made.status == 0, "\(made.stderr)")
        var expectations: [String: String] = [:]
        for line in made.stdout.split(separator: "\n") {
            if let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                let file = entry["file"], let expect = entry["expect"]
            {
                expectations[file] = expect
            }
        }
        return expectations
    }

    static func upscaler() throws -> String {
        guard let url = PipelineFixtures.executable else { throw CocoaError(.fileNoSuchFile) }
        return url.path
    }

    @Test func everyFileIsRefusedCleanly() throws {
        let scratch = try ScratchFolder()
        let corpus = try scratch.folder("corpus")
        let expectations = try Self.makeCorpus(in: corpus)
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus).sorted()
        #expect(names.count >= 15)
        #expect(Set(expectations.keys) == Set(names))
        for name in names {
            let output = scratch.path("out-\(name).png")
            let outcome = try Subprocess.run(
                try Self.upscaler(),
                [
                    "upscale", (corpus as NSString).appendingPathComponent(name), "-o", output, "--model",
                    PipelineFixtures.model,
                ])
            let lines = outcome.stderr.split(separator: "\n")
            #expect(!outcome.signalled && outcome.status == 1, "\(name): status \(outcome.status)")
            #expect(lines.count == 1, "\(name): \(outcome.stderr)")
            #expect(outcome.stderr.contains(name), "\(name): \(outcome.stderr)")
            #expect(outcome.stderr.contains(expectations[name] ?? "?"), "\(name): \(outcome.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
    }

    /// The 100000 x 100000 claim is refused from its header: in under a second and 200 MB of peak memory (the bound
    /// the issue sets; the refusal itself takes milliseconds).
    @Test func hugeClaimIsRefusedCheaply() throws {
        let scratch = try ScratchFolder()
        let corpus = try scratch.folder("corpus")
        _ = try Self.makeCorpus(in: corpus)
        let measured = try Self.python([
            "measure", "--", try Self.upscaler(), "upscale",
            (corpus as NSString).appendingPathComponent("huge-claim.png"),
            "-o", scratch.path("out.png"), "--model", PipelineFixtures.model,
        ])
        let json = try JSONSerialization.jsonObject(with: Data(measured.stdout.utf8)) as? [String: Any]
        let seconds = json?["seconds"] as? Double ?? .infinity
        let peakKB = json?["max_rss_kb"] as? Int ?? .max
        #expect(json?["returncode"] as? Int == 1)
        #expect(seconds < 1, "took \(seconds) s")
        #expect(peakKB < 200 * 1024, "peak \(peakKB) kB")
    }
}
