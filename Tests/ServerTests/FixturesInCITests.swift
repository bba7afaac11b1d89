import Foundation
import Testing

/// The process tests skip themselves on a developer machine that lacks the executable, a model, PostgreSQL or a
/// browser; in CI (`CI` set, as `.ci/run` runs) a missing piece must fail the run instead, so no suite is silently
/// skipped there.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false, "only in CI"))
struct FixturesInCITests {
    @Test func everythingTheProcessTestsNeedIsThere() {
        #expect(ServerFixtures.executable != nil, "no upscaler executable: UPSCALER_BIN or the test build")
        #expect(ServerFixtures.modelInstalled, "realesr-animevideov3 is not installed")
        #expect(StoreKind.postgresURL != nil, "UPSCALER_TEST_DATABASE_URL is not set")
        #expect(ServerFixtures.browserAvailable, "chromium, chromedriver or selenium is missing")
    }
}
