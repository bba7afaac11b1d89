import Foundation
import HTTPTypes
import HummingbirdTesting
import JobStore
import NIOCore
import Testing

@testable import UpscaleServer

/// A generic battery of hostile requests (issue 14, acceptance 2): every documented path and method with no, a wrong
/// and a malformed token; malformed JSON, wrong types, NaN and huge numbers, deep nesting, hostile ids. Every answer
/// must be a 4xx with a JSON error code (or a success where the route is open), never a 5xx, and `/health` must
/// answer after each.
@Suite struct HostileBatteryTests {
    static let authorizations: [String?] = [
        nil, "Bearer wrong-token-aaaaaaaaaaaaaaaa", "Bearer", "Basic dXNlcjpwYXNz",
        "Bearer " + String(repeating: "x", count: 8192),
        "bearer  \u{7f}\u{1}",
    ]

    static var operations: [(method: String, path: String, protected: Bool)] {
        let document = OpenAPIDocument.embedded
        guard let object = try? JSONSerialization.jsonObject(with: Data(document.bytes)) as? [String: Any],
            let paths = object["paths"] as? [String: [String: Any]]
        else { return [] }
        var operations: [(String, String, Bool)] = []
        for (template, methods) in paths.sorted(by: { $0.key < $1.key }) {
            let path = template.replacingOccurrences(of: "{id}", with: "0123456789abcdef0123456789abcdef")
                .replacingOccurrences(of: "{file_id}", with: "0123456789abcdef0123456789abcdef")
            for (method, operation) in methods.sorted(by: { $0.key < $1.key }) {
                let secured = ((operation as? [String: Any])?["security"] as? [Any])?.isEmpty == false
                operations.append((method.uppercased(), path, secured))
            }
        }
        return operations
    }

    @Test func everyOperationWithBadCredentials() async throws {
        let operations = Self.operations
        #expect(operations.count >= 14)
        for operation in operations {
            // A fresh app per operation, so the wrong-token throttle (ten per address) does not mask the 401s.
            let server = try InProcessServer()
            try await server.test { client in
                for authorization in Self.authorizations {
                    var headers = HTTPFields()
                    if let authorization, let value = Optional(authorization) { headers[.authorization] = value }
                    if operation.method == "POST" { headers[.contentType] = "application/json" }
                    let response = try await client.execute(
                        uri: operation.path, method: HTTPRequest.Method(operation.method)!, headers: headers,
                        body: operation.method == "POST" ? .init(string: "{}") : nil)
                    let status = Int(response.status.code)
                    let label = "\(operation.method) \(operation.path) with \(authorization?.prefix(20) ?? "none")"
                    #expect(status < 500 || operation.path == "/health/ready", "\(label): \(status)")
                    if operation.protected {
                        #expect(status == 401, "\(label): \(status)")
                        #expect(response.headers[.wwwAuthenticate] == "Bearer", "\(label)")
                    }
                    if status >= 400 && operation.path != "/health/ready" {
                        let body =
                            try? JSONSerialization.jsonObject(with: Data(Array(buffer: response.body)))
                            as? [String: Any]
                        #expect((body?["error"] as? [String: Any])?["code"] is String, "\(label): no JSON error")
                    }
                }
                #expect(try await client.call(.get, "/health").status == 200)
            }
        }
    }

    static let bodies: [(name: String, bytes: [UInt8])] = [
        ("NaN", Array(#"{"image": NaN}"#.utf8)),
        ("a huge scale", Array(#"{"image": "aGVsbG8=", "scale": 1e400}"#.utf8)),
        ("a huge quality", Array(#"{"image": "aGVsbG8=", "quality": 100000000000000000000000}"#.utf8)),
        ("a negative tile", Array(#"{"image": "aGVsbG8=", "tile": -1}"#.utf8)),
        ("a scale as text", Array(#"{"image": "aGVsbG8=", "scale": "4"}"#.utf8)),
        ("an image as a number", Array(#"{"image": 12}"#.utf8)),
        ("a null image", Array(#"{"image": null}"#.utf8)),
        ("a string body", Array(#""just a string""#.utf8)),
        ("an array body", Array("[]".utf8)),
        ("deep nesting", Array(String(repeating: "[", count: 100_000).utf8)),
        ("deep objects", Array(String(repeating: #"{"a":"#, count: 50_000).utf8)),
        ("invalid UTF-8", [0x7b, 0x22, 0x69, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
        ("an empty body", []),
        ("a NUL in a key", Array("{\"ima\u{0}ge\": \"aGVsbG8=\"}".utf8)),
        ("unknown fields only", Array(#"{"__proto__": {"admin": true}}"#.utf8)),
        ("a data URL that is not base64", Array(#"{"image": "data:text/html,<script>alert(1)</script>"}"#.utf8)),
    ]

    @Test func malformedBodies() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            for path in ["/upscale", "/jobs"] {
                for body in Self.bodies {
                    let reply = try await client.call(
                        .post, path, token: InProcessServer.tokenA, body: body.bytes, contentType: "application/json")
                    #expect((400..<500).contains(reply.status), "\(path) \(body.name): \(reply.status) \(reply.text)")
                    #expect(reply.errorCode != nil, "\(path) \(body.name): \(reply.text)")
                    #expect(try await client.call(.get, "/health").status == 200, "after \(body.name)")
                }
            }
        }
        #expect(try await server.store.queuedCount() == 0)
    }

    static let hostileIDs = [
        "..%2F..%2Fetc%2Fpasswd", "%00", String(repeating: "a", count: 4096), "'%20OR%201=1--", "%F0%9F%92%A9",
        "0123456789abcdef0123456789abcdef%0D%0AX-Injected:%201",
    ]

    @Test func hostileIDsAndLinks() async throws {
        let server = try InProcessServer()
        try await server.test { client in
            for id in Self.hostileIDs {
                for (method, path) in [
                    (HTTPRequest.Method.get, "/jobs/\(id)"), (.delete, "/jobs/\(id)"), (.get, "/jobs/\(id)/events"),
                    (.get, "/download/\(id)?expires=1&sig=00"),
                    (.get, "/download/\(id)?expires=99999999999999999999999&sig=zz"),
                ] {
                    let reply = try await client.call(method, path, token: InProcessServer.tokenA)
                    #expect((400..<500).contains(reply.status), "\(method) \(path.prefix(60)): \(reply.status)")
                    #expect(reply.errorCode != nil, "\(method) \(path.prefix(60)): \(reply.text)")
                    #expect(reply.header("X-Injected") == nil)
                }
            }
            #expect(try await client.call(.get, "/health").status == 200)
        }
    }
}
