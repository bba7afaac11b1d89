import Foundation

/// Runs a program to completion and collects what it printed: the one child-process runner for the model store's
/// tools, the benchmark's reference engines and the tests.
public enum Subprocess {
    public struct Outcome: Sendable {
        public let status: Int32
        /// Ended by a signal (a crash) rather than an exit.
        public let signalled: Bool
        public let stdout: String
        public let stderr: String

        /// The last line of stderr, or of stdout when stderr is empty, that is not blank: what a failure message quotes.
        public var lastLine: String? {
            func last(_ text: String) -> String? {
                text.split(whereSeparator: \.isNewline).last { !$0.allSatisfy(\.isWhitespace) }
                    .map { $0.trimmingCharacters(in: .whitespaces) }
            }
            return last(stderr) ?? last(stdout)
        }
    }

    /// `environment` is added to (and overrides) this process's own; stdin is closed, so a child that asks never waits.
    public static func run(
        _ executable: String, _ arguments: [String],
        environment: [String: String] = [:]
    ) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain stderr on another thread so neither pipe can fill and block the child.
        nonisolated(unsafe) var stderr = Data()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            stderr = err.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}
