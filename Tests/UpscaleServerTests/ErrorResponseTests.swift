import Foundation
import HTTPTypes
import JobStore
import TestSupport
import Testing
import UpscaleServer

/// Every client mistake answers its documented 4xx with a JSON error body (`error.code`, `error.message`,
/// `detail`), a request id, and the headers its status calls for; the app keeps answering afterwards. Codes and
/// statuses come from the old service's README and the OpenAPI document. (An image whose header reads but whose
/// pixels do not is refused by the worker, not here: `HTTPAPITests` covers it with the real executable.)
@Suite struct ErrorResponseTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let method: String
        let path: String
        let token: String?
        let json: [String: any Sendable]?
        let body: [UInt8]?
        let contentType: String?
        let status: Int
        let code: String
        var description: String { name }
    }

    static let good = Data(testPNG(width: 20, height: 16)).base64EncodedString()
    static let token = InProcessServer.tokenA

    static let cases: [Case] = [
        Case(
            name: "no token", method: "POST", path: "/upscale", token: nil, json: ["image": good], body: nil,
            contentType: nil, status: 401, code: "unauthorized"),
        Case(
            name: "wrong token", method: "POST", path: "/upscale", token: "not-a-token", json: ["image": good],
            body: nil, contentType: nil, status: 401, code: "unauthorized"),
        Case(
            name: "jobs without a token", method: "POST", path: "/jobs", token: nil, json: ["image": good], body: nil,
            contentType: nil, status: 401, code: "unauthorized"),
        Case(
            name: "usage without a token", method: "GET", path: "/usage", token: nil, json: nil, body: nil,
            contentType: nil, status: 401, code: "unauthorized"),
        Case(
            name: "scale 3 on the old path", method: "POST", path: "/upscale", token: token,
            json: ["image": good, "scale": 3], body: nil, contentType: nil, status: 400, code: "invalid_scale"),
        Case(
            name: "scale 17 on /jobs", method: "POST", path: "/jobs", token: token, json: ["image": good, "scale": 17],
            body: nil, contentType: nil, status: 400, code: "invalid_scale"),
        Case(
            name: "quality 0", method: "POST", path: "/jobs", token: token, json: ["image": good, "quality": 0],
            body: nil, contentType: nil, status: 400, code: "invalid_quality"),
        Case(
            name: "tile 8", method: "POST", path: "/jobs", token: token, json: ["image": good, "tile": 8], body: nil,
            contentType: nil, status: 400, code: "invalid_tile"),
        Case(
            name: "tile 4096", method: "POST", path: "/jobs", token: token, json: ["image": good, "tile": 4096],
            body: nil, contentType: nil, status: 400, code: "invalid_tile"),
        Case(
            name: "unknown model", method: "POST", path: "/jobs", token: token,
            json: ["image": good, "model": "no-such-model"], body: nil, contentType: nil, status: 400,
            code: "unknown_model"),
        Case(
            name: "bad base64", method: "POST", path: "/upscale", token: token, json: ["image": "%%%not base64%%%"],
            body: nil, contentType: nil, status: 400, code: "invalid_base64"),
        Case(
            name: "bad output_ext", method: "POST", path: "/upscale", token: token,
            json: ["image": good, "output_ext": "bmp"], body: nil, contentType: nil, status: 400,
            code: "invalid_output_ext"),
        Case(
            name: "missing image", method: "POST", path: "/upscale", token: token, json: ["scale": 4], body: nil,
            contentType: nil, status: 400, code: "invalid_json"),
        Case(
            name: "bad JSON", method: "POST", path: "/upscale", token: token, json: nil,
            body: Array("{\"image\": ".utf8), contentType: "application/json", status: 400, code: "invalid_json"),
        Case(
            name: "oversize body", method: "POST", path: "/upscale", token: token, json: nil,
            body: [UInt8](repeating: 0x41, count: 2 << 20), contentType: "application/json", status: 413,
            code: "too_large"),
        Case(
            name: "not an image", method: "POST", path: "/upscale", token: token,
            json: ["image": Data("hello, world".utf8).base64EncodedString()], body: nil, contentType: nil, status: 415,
            code: "unsupported_media_type"),
        Case(
            name: "huge pixel claim", method: "POST", path: "/upscale", token: token,
            json: ["image": Data(TestPNG.hugeHeader()).base64EncodedString()], body: nil, contentType: nil, status: 413,
            code: "too_many_pixels"),
        Case(
            name: "empty raw body", method: "POST", path: "/jobs", token: token, json: nil, body: [],
            contentType: "image/png", status: 400, code: "missing_image"),
        Case(
            name: "PUT /upscale", method: "PUT", path: "/upscale", token: token, json: nil, body: nil, contentType: nil,
            status: 405, code: "method_not_allowed"),
        Case(
            name: "DELETE /upscale", method: "DELETE", path: "/upscale", token: nil, json: nil, body: nil,
            contentType: nil, status: 405, code: "method_not_allowed"),
        Case(
            name: "unknown path", method: "GET", path: "/no/such/path", token: nil, json: nil, body: nil,
            contentType: nil, status: 404, code: "not_found"),
        Case(
            name: "unknown job", method: "GET", path: "/jobs/0000", token: token, json: nil, body: nil,
            contentType: nil, status: 404, code: "not_found"),
    ]

    @Test(arguments: cases)
    func answersWithItsCode(_ item: Case) async throws {
        let server = try InProcessServer { $0.maxBodyBytes = 1 << 20 }
        try await server.test { client in
            let reply = try await client.call(
                .init(item.method)!, item.path, token: item.token, json: item.json,
                body: item.body, contentType: item.contentType)
            #expect(reply.status == item.status, "\(reply.status) \(reply.text)")
            #expect(reply.errorCode == item.code, "\(reply.text)")
            #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true)
            #expect(!(reply.errorMessage ?? "").isEmpty && reply.json["detail"] != nil)
            #expect(reply.header("X-Request-Id") != nil)
            if item.status == 401 { #expect(reply.header("WWW-Authenticate") == "Bearer") }
            if item.status == 405 { #expect(reply.header("Allow")?.contains("POST") == true) }
            // Still serving, and nothing was queued by a refused request.
            #expect(try await client.call(.get, "/health").status == 200)
        }
        #expect(try await server.store.queuedCount() == 0)
    }
}
