import ArgumentParser
import Foundation
import Imaging

/// `upscaler formats`: what this machine's libvips reads, and what Upscaler writes.
struct FormatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formats",
        abstract: "List the image formats this machine reads and writes.")

    func run() throws {
        print("read:")
        for format in InputFormat.allCases {
            let extensions = format.fileExtensions.map { ".\($0)" }.joined(separator: " ")
            let state = format.isAvailable ? "yes" : "no (this libvips has no \(format.rawValue) loader)"
            print(
                "  \(format.displayName.padding(toLength: 10, withPad: " ", startingAt: 0))"
                    + "\(extensions.padding(toLength: 20, withPad: " ", startingAt: 0))\(state)")
        }
        print("write:")
        print("  PNG       .png                8 or 16 bits, grey or RGB, alpha; --compression 0-9")
        print(
            "  JPEG      .jpg .jpeg          8 bits, grey or RGB; alpha flattened onto --background; --quality, --progressive"
        )
        print("  WebP      .webp               8 bits RGB, alpha; --quality, or --lossless")
    }
}
