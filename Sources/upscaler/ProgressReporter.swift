import Foundation
import Inference
import UpscaleCore

/// Shows pipeline progress: a redrawn bar on stderr when it is a terminal, else plain lines on stdout.
final class ProgressReporter {
    private let interactive = isatty(STDERR_FILENO) == 1
    private let label: String
    private var lastStep = ""
    private var lastDraw = Date.distantPast

    init(label: String) { self.label = label }

    func report(_ progress: PipelineProgress) {
        if interactive {
            let now = Date()
            guard progress.step != lastStep || now.timeIntervalSince(lastDraw) > 0.1 || progress.fraction >= 1 else {
                return
            }
            lastDraw = now
            lastStep = progress.step
            let width = 30
            let filled = Int((progress.fraction * Double(width)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            var detail = progress.step
            if let tile = progress.tile { detail = "tile \(tile.completed)/\(tile.total)" }
            let line = String(format: "\r%@ [%@] %3d%% %@", label, bar, Int(progress.fraction * 100), detail)
            write(line.padding(toLength: max(line.count, 72), withPad: " ", startingAt: 0))
            if progress.step == "done" { write("\n") }
        } else {
            if let tile = progress.tile {
                write("\(label): tile \(tile.completed)/\(tile.total)\n")
            } else if progress.step != lastStep {
                lastStep = progress.step
                write("\(label): \(progress.step)\n")
            }
        }
    }

    /// Plain lines go to stdout: on a pipe, stderr carries only the one-line error of a failed run.
    /// Ends a half-drawn bar, so a following error message starts on its own line.
    func finish() {
        if interactive && !lastStep.isEmpty && lastStep != "done" { write("\n") }
    }

    private func write(_ text: String) {
        (interactive ? FileHandle.standardError : FileHandle.standardOutput).write(Data(text.utf8))
    }
}
