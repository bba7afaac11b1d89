import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import UpscaleCore

@testable import UpscaleServer

/// The unauthenticated surface: health, the usage hint and service info, the browser redirect, the OpenAPI
/// document (every documented route answers; nothing else is served), the docs and UI pages and the metrics.
@Suite struct DocumentsTests {
    @Test func healthHintAndInfo() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            let health = try await client.call(.get, "/health")
            #expect(health.status == 200 && health.json["status"] as? String == "ok")
            let hint = try await client.call(.get, "/upscale")
            #expect(hint.status == 200 && hint.json["method"] as? String == "POST")
            #expect((hint.json["example"] as? String)?.contains("curl") == true)
            let info = try await client.call(.get, "/")
            #expect(info.status == 200 && info.json["name"] as? String == "Upscaler" && info.json["endpoints"] != nil)
            let models = (info.json["models"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
            #expect(models.contains("realesrgan-x4plus") && models.contains("realesr-animevideov3"))
            // No worker has said it is alive: the api alone is not ready to finish jobs.
            let ready = try await client.call(.get, "/health/ready")
            #expect(ready.status == 503 && ready.json["worker"] as? Bool == false, "\(ready.text)")
        }
    }

    /// A browser asking for `/` is sent to the page; an `Accept: */*` client keeps getting JSON.
    @Test func browsersAreSentToThePage() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            var headers = HTTPFields()
            headers[.accept] = "text/html,application/xhtml+xml,*/*;q=0.8"
            let browser = try await client.execute(uri: "/", method: .get, headers: headers)
            #expect(browser.status.code == 303 && browser.headers[.location]?.hasSuffix("/ui") == true)
            let page = try await client.call(.get, "/ui")
            #expect(page.status == 200 && page.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(
                page.text.contains("id=\"token\"") && !page.text.contains("https://"), "self-contained, no other host")
        }
    }

    /// The routes and types are generated ahead of time (scripts/generate-openapi.sh); they must have been generated from
    /// the document this server serves, byte for byte.
    @Test func generatedRoutesComeFromTheServedDocument() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            let document = try await client.call(.get, "/openapi.json")
            #expect(document.status == 200)
            let digest = SHA256.hash(data: document.body).hex
            #expect(
                digest == GeneratedDocument.documentSHA256,
                "Sources/UpscaleServer/Generated is stale: run scripts/generate-openapi.sh")
        }
    }

    @Test func everyDocumentedRouteAnswersAndNothingElse() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            let document = try await client.call(.get, "/openapi.json")
            #expect(document.status == 200 && document.json["openapi"] as? String != nil)
            let paths = try #require(document.json["paths"] as? [String: [String: Any]])
            #expect(paths.count >= 13)
            for (template, methods) in paths {
                let path = template.replacingOccurrences(of: "{id}", with: "0000")
                    .replacingOccurrences(of: "{file_id}", with: "0000")
                for method in methods.keys where ["get", "post", "delete", "put"].contains(method) {
                    let reply = try await client.call(
                        .init(method.uppercased())!, path, token: InProcessServer.tokenA,
                        body: method == "post" ? Array("{}".utf8) : nil,
                        contentType: method == "post" ? "application/json" : nil)
                    #expect(
                        reply.errorCode != "method_not_allowed" && !(reply.errorMessage ?? "").contains("no such path"),
                        "\(method) \(template) answered \(reply.status)")
                    // Readiness is 503 by design here: no worker has said it is alive.
                    #expect(reply.status < 500 || template == "/health/ready", "\(method) \(template): \(reply.text)")
                }
            }
            for path in ["/admin", "/jobs/1/2/3", "/download", "/upscale/extra", "/static/app.js"] {
                #expect(try await client.call(.get, path).status == 404, "\(path) is not in the document")
            }
            let docs = try await client.call(.get, "/docs")
            #expect(docs.status == 200 && docs.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(
                docs.text.contains("/openapi.json") && !docs.text.contains("https://"), "the page must not need a CDN")
            let metrics = try await client.call(.get, "/metrics")
            #expect(metrics.text.contains("upscaler_http_requests_total") && metrics.text.contains("route=\"/docs\""))
        }
    }
}
