import Foundation
import Testing

extension ServerFixtures {
    static var browserAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
            && ((try? runTool(["python3", "-c", "import selenium"]).status) == 0)
    }
}

/// The web page in headless Chromium (`tools/browser_test.py`, Selenium), against two live servers: one as usual and
/// one with a 1 MiB body limit for the oversize case. Screenshots land in `$UPSCALER_TEST_OUTPUT/browser`
/// (default `test-output/browser` in the repository).
@Suite(
    .enabled(if: ServerFixtures.ready && ServerFixtures.browserAvailable, "needs chromium, chromedriver and selenium"))
struct BrowserTests {
    static var outputDirectory: String {
        let base =
            ProcessInfo.processInfo.environment["UPSCALER_TEST_OUTPUT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ServerFixtures.repositoryRoot.appendingPathComponent("test-output").path
        return (base as NSString).appendingPathComponent("browser")
    }

    @Test func pageUpscalesRefusesAndStaysOnTheServer() throws {
        let scratch = try Scratch()
        let server = try TestServer(dataDirectory: scratch.path("data"), arguments: ["--threads", "2"])
        let small = try TestServer(dataDirectory: scratch.path("small"), arguments: ["--max-body-mb", "1"])
        let script = ServerFixtures.repositoryRoot.appendingPathComponent("tools/browser_test.py").path
        let result = try runTool([
            "python3", script, "--base", server.base, "--small-base", small.base,
            "--token", ServerFixtures.tokenA, "--out", Self.outputDirectory,
        ])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr.suffix(3000))")
        print(result.stdout)
        for name in [
            "desktop-1-empty", "desktop-2-progress", "desktop-3-result", "phone-1-empty", "phone-2-progress",
            "phone-3-result",
        ] {
            #expect(FileManager.default.fileExists(atPath: "\(Self.outputDirectory)/\(name).png"), "screenshot \(name)")
        }
    }
}
