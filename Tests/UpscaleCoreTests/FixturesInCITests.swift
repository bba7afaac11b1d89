import Foundation
import Testing

/// The pipeline, image and command-line suites skip themselves where the model or the executable is missing; in CI
/// (`CI` set) that must fail the run instead.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false, "only in CI"))
struct FixturesInCITests {
    @Test func everythingThePipelineTestsNeedIsThere() {
        #expect(PipelineFixtures.modelInstalled, "realesr-animevideov3 is not installed")
        #expect(PipelineFixtures.executable != nil, "no upscaler executable")
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/unzip"), "unzip is missing")
    }
}
