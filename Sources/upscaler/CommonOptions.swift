import ArgumentParser
import Foundation

/// Prints a one-line reason to stderr and exits non-zero, instead of ArgumentParser's multi-line error.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("upscaler: error: \(message)\n".utf8))
    return ExitCode.failure
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("upscaler: \(message)\n".utf8))
}
