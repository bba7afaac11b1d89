import Foundation
import HTTPTypes
import JobStore
import TestSupport
import Testing

@testable import UpscaleServer

/// Large request bodies (issue 14, item 4): capped per token, and their image text lifted out before the generated
/// decoding without changing any answer.
extension HostileRequestTests {
    /// Large bodies are capped per token (429) and in all (503) before they are read, small ones are not, and a
    /// call that ends gives its slot back (item 4).
    @Test func largeBodiesAreCappedPerToken() async throws {
        let server = try InProcessServer {
            $0.largeBodyBytes = 1024
            $0.maxLargeBodiesPerToken = 2
            $0.maxLargeBodies = 3
        }
        let ownerA = try #require(server.assembly.tokens.authenticate(authorization: "Bearer \(Self.token)")?.owner)
        let large = ["image": Data(testPNG(width: 24, height: 24)).base64EncodedString()]
        let small = ["image": Data(Self.png).base64EncodedString()]
        try await server.test { client in
            // Answered calls give their slots back: three in a row from one token pass a limit of two.
            for _ in 0..<3 {
                let created = try await client.call(.post, "/jobs", token: Self.token, json: large)
                #expect(created.status == 202, "\(created.text)")
            }
            // Two held by token A (as by uploads still arriving): a third large body is refused, a small one is not.
            #expect(
                server.assembly.largeBodies.take(for: ownerA) == nil
                    && server.assembly.largeBodies.take(for: ownerA) == nil)
            let refused = try await client.call(.post, "/jobs", token: Self.token, json: large)
            #expect(refused.status == 429 && refused.errorCode == "too_many_uploads", "\(refused.text)")
            #expect(refused.header("Retry-After") != nil)
            #expect(try await client.call(.post, "/jobs", token: Self.token, json: small).status == 202)
            // One held by someone else fills the server: token B is refused with 503.
            #expect(server.assembly.largeBodies.take(for: "someone else") == nil)
            let full = try await client.call(.post, "/jobs", token: InProcessServer.tokenB, json: large)
            #expect(full.status == 503 && full.errorCode == "too_many_uploads", "\(full.text)")
            server.assembly.largeBodies.giveBack(for: ownerA)
            #expect(try await client.call(.post, "/jobs", token: Self.token, json: large).status == 202)
        }
    }

    /// Large JSON bodies, whose image text is lifted out before the generated decoding, are answered exactly as the
    /// same bodies decoded the usual way (the scanner off), and a lifted image is stored byte for byte (item 4).
    @Test func largeJSONBodiesAnswerAsTheUsualDecoding() async throws {
        let png = testPNG(width: 24, height: 24)
        let base64 = Data(png).base64EncodedString()
        let escaped = base64.replacingOccurrences(of: "/", with: "\\/")
        let bodies: [String] = [
            #"{"image":"\#(base64)"}"#,
            #"{"scale":2,"output_ext":"webp","image":"\#(base64)","model":"realesr-animevideov3"}"#,
            #"{"image":"\#(escaped)"}"#,
            #"{"image":"\#(base64)","scale":"two"}"#,
            #"{"image":"\#(base64)","scale":3}"#,
            #"{"image":"%%\#(base64)"}"#,
            #"{"image":"\#(base64.prefix(500))\n\#(base64.dropFirst(500))"}"#,
            "{\"image\":\"\(base64.prefix(500))\n\(base64.dropFirst(500))\"}",
            #"{"image":"\#(base64)","image":"\#(base64)"}"#,
            #"{"image":"\#(base64)"} trailing"#,
            #"{"image":"\#(base64)","#,
        ]
        var answers: [[String]] = []
        for largeBodyBytes in [1024, Int.max] {
            let server = try InProcessServer { $0.largeBodyBytes = largeBodyBytes }
            answers.append(
                try await server.test { client in
                    var seen: [String] = []
                    for body in bodies {
                        let reply = try await client.call(
                            .post, "/jobs", token: Self.token, body: Array(body.utf8), contentType: "application/json")
                        seen.append("\(reply.status) \(reply.errorCode ?? "-")")
                        if reply.status == 202, let id = reply.json["id"] as? String {
                            let job = try #require(try await server.store.job(id: id, owner: nil))
                            #expect(try await server.blobs.get(job.inputPath) == png, "\(body.prefix(40))")
                        }
                    }
                    return seen
                })
        }
        #expect(answers[0] == answers[1])
        #expect([0, 1, 2, 6].allSatisfy { answers[0][$0] == "202 -" }, "\(answers[0])")
        #expect(!answers[0].contains { $0.hasPrefix("5") }, "\(answers[0])")
        // A body past --max-body-mb is refused with 413 while it is read, lifted or not.
        let small = try InProcessServer {
            $0.largeBodyBytes = 1024
            $0.maxBodyBytes = 4096
        }
        try await small.test { client in
            let big = #"{"image":"\#(String(repeating: "A", count: 8000))"}"#
            let reply = try await client.call(
                .post, "/jobs", token: Self.token, body: Array(big.utf8), contentType: "application/json")
            #expect(reply.status == 413 && reply.errorCode == "too_large", "\(reply.text)")
        }
    }
}
