import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `upscaler client upscale`: calls a remote Upscaler server, waits for the result and downloads it. This replaces the
/// old service's Python test client.
struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client", abstract: "Call an Upscaler server.", subcommands: [Upscale.self])

    struct Upscale: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upscale an image on a server and download the result.")

        @Argument(help: "The image to send.")
        var image: String

        @Option(help: "Server base URL ($UPSCALER_URL, default http://127.0.0.1:8000).")
        var url: String?

        @Option(help: "Bearer token ($UPSCALER_TOKEN).")
        var token: String?

        @Option(name: .shortAndLong, help: "Where to write the result (default: <name>-<scale>x.<format> here).")
        var output: String?

        @Option(help: "2 or 4 (any factor up to 16 with --async).")
        var scale: Double = 4

        @Option(help: "png, jpg or webp.")
        var format: String = "png"

        @Option(help: "Model name (default: the server's).")
        var model: String?

        @Flag(
            name: .customLong("async"),
            help: "Queue a job (POST /jobs) and follow its progress, instead of POST /upscale.")
        var asynchronous = false

        func run() async throws {
            let env = ProcessInfo.processInfo.environment
            let base = (url ?? env["UPSCALER_URL"] ?? "http://127.0.0.1:8000").trimmingCharacters(
                in: CharacterSet(charactersIn: "/"))
            guard let token = token ?? env["UPSCALER_TOKEN"], !token.isEmpty else {
                throw fail("a token is needed: --token or UPSCALER_TOKEN")
            }
            let bytes: Data
            do { bytes = try Data(contentsOf: URL(fileURLWithPath: image)) } catch {
                throw fail("\(image): cannot read the file")
            }
            let client = HTTPClient(base: base, token: token)
            var body: [String: Any] = ["image": bytes.base64EncodedString(), "scale": scale, "output_ext": format]
            if let model { body["model"] = model }

            var downloadURL: String
            if asynchronous {
                let accepted = try await client.json("POST", "/jobs", body: body, expecting: [202])
                guard let statusURL = accepted["status_url"] as? String else {
                    throw fail("the server's answer has no status_url")
                }
                downloadURL = try await follow(statusURL, client: client)
            } else {
                let (status, answer) = try await client.request("POST", "/upscale", body: body, expecting: [200, 202])
                if status == 202, let statusURL = answer["status_url"] as? String {
                    downloadURL = try await follow(statusURL, client: client)
                } else if let link = answer["download_url"] as? String {
                    downloadURL = link
                    if let size = answer["upscaled_size"] as? [Int] {
                        print("upscaled to \(size.map(String.init).joined(separator: "x"))")
                    }
                } else {
                    throw fail("the server's answer has no download_url")
                }
            }
            let file = try await client.download(downloadURL)
            let stem = ((image as NSString).lastPathComponent as NSString).deletingPathExtension
            let scaleText = scale == scale.rounded() ? String(Int(scale)) : String(scale)
            let target = output ?? "\(stem)-\(scaleText)x.\(format == "jpeg" ? "jpg" : format)"
            do { try file.write(to: URL(fileURLWithPath: target), options: .atomic) } catch {
                throw fail("\(target): cannot write the file")
            }
            print("\(image) -> \(target) (\(file.count) bytes)")
        }

        /// Polls a job until it is final, printing progress; returns its download link.
        private func follow(_ statusURL: String, client: HTTPClient) async throws -> String {
            var lastPercent = -1
            while true {
                let job = try await client.json("GET", statusURL, body: nil, expecting: [200])
                let status = job["status"] as? String ?? "?"
                let percent = Int(((job["progress"] as? Double) ?? 0) * 100)
                if percent != lastPercent {
                    FileHandle.standardError.write(Data("\(status) \(percent)%\n".utf8))
                    lastPercent = percent
                }
                switch status {
                case "succeeded":
                    guard let link = job["download_url"] as? String else { throw fail("the job has no download_url") }
                    return link
                case "failed", "canceled":
                    let error = job["error"] as? [String: Any]
                    throw fail("the job \(status): \(error?["message"] as? String ?? "no reason given")")
                default:
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
        }
    }
}
