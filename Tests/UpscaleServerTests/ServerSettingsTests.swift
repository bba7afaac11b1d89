import Foundation
import Testing

@testable import UpscaleServer

/// The settings table: a flag beats its variable, which beats the default; bounds are checked once, for flags and
/// variables alike; and every setting is in the README's table of variables, so the manual cannot fall behind.
@Suite struct ServerSettingsTests {
    @Test func flagThenVariableThenDefault() throws {
        let environment = ["UPSCALER_PORT": "9000", "UPSCALER_MAX_QUEUE": "7", "HOME": "/tmp/settings-home"]
        let fromFlag = try ServerSettings.resolve(flags: ["port": "9100"], environment: environment)
        #expect(fromFlag.port == 9100 && fromFlag.maxQueue == 7)
        let fromVariable = try ServerSettings.resolve(flags: [:], environment: environment)
        #expect(fromVariable.port == 9000)
        let defaults = try ServerSettings.resolve(flags: [:], environment: ["HOME": "/tmp/settings-home"])
        #expect(defaults.port == 8000 && defaults.maxQueue == 100 && defaults.leaseSeconds == 30)
        #expect(defaults.dataDirectory.path == "/tmp/settings-home/.local/share/upscaler/data")
        // The older name of the per-token cap is still read, after the current one.
        let older = try ServerSettings.resolve(flags: [:], environment: ["UPSCALER_MAX_QUEUED_PER_TOKEN": "3"])
        #expect(older.maxJobsPerToken == 3)
        let both = try ServerSettings.resolve(
            flags: [:],
            environment: [
                "UPSCALER_MAX_QUEUED_PER_TOKEN": "3",
                "UPSCALER_MAX_JOBS_PER_TOKEN": "5",
            ])
        #expect(both.maxJobsPerToken == 5)
        #expect(try ServerSettings.resolve(flags: ["max-body-mb": "2"], environment: [:]).maxBodyBytes == 2 << 20)
        #expect(try ServerSettings.resolve(flags: ["max-input-side": "0"], environment: [:]).maxInputSide == nil)
        #expect(try ServerSettings.resolve(flags: ["no-auto-fetch": "1"], environment: [:]).autoFetch == false)
    }

    @Test(arguments: [
        ("port", "70000"), ("port", "eighty"), ("lease", "0"), ("result-ttl", "-1"), ("max-attempts", "0"),
        ("poll-interval", "61"), ("max-input-side", "8"), ("precision", "fp64"), ("model", "no-such-model"),
        ("rate-limit", "lots"), ("threads", "0"),
    ])
    func outOfBoundsIsRefusedWithTheFlagsName(flag: String, value: String) throws {
        #expect {
            _ = try ServerSettings.resolve(flags: [flag: value], environment: [:])
        } throws: { error in
            "\(error)".contains(flag) || "\(error)".contains(value)
        }
        let variable = try #require(ServerSettings.all.first { $0.flag == flag }?.variables.first)
        #expect(throws: ConfigurationError.self) {
            _ = try ServerSettings.resolve(flags: [:], environment: [variable: value])
        }
    }

    @Test func blobDirectoryNeedsADatabase() {
        #expect(throws: ConfigurationError.self) {
            _ = try ServerSettings.resolve(flags: ["blob-dir": "/tmp/blobs"], environment: [:])
        }
    }

    /// Each setting's flag and first variable appear in the README, which documents them for users.
    @Test func everySettingIsInTheManual() throws {
        let readme = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../README.md"), encoding: .utf8)
        for setting in ServerSettings.all {
            #expect(readme.contains("--\(setting.flag)"), "--\(setting.flag) is not in the README")
            #expect(readme.contains(setting.variables[0]), "\(setting.variables[0]) is not in the README")
        }
    }
}
