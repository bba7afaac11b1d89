import Foundation
import Testing

/// Connections a hostile client holds open (issue 14, item 3), against the real executable on a socket: a client
/// over its address's connection cap is closed at once, half-sent requests are closed after `--idle-timeout`, and
/// the service answers normally afterwards. Sockets are Python's, not the code under test.
@Suite(.enabled(if: ServerFixtures.ready, "needs the upscaler executable and realesr-animevideov3"))
struct HostileConnectionTests {
    @Test func halfSentRequestsAreCappedAndTimedOut() throws {
        let scratch = try Scratch()
        let server = try TestServer(
            role: "api", dataDirectory: scratch.path("data"),
            arguments: ["--idle-timeout", "5", "--max-connections-per-address", "20"])
        let probe = try runTool([
            "python3", "-c",
            """
            import socket, time
            def closed(s):
                s.settimeout(0.2)
                try:
                    return s.recv(1) == b""
                except socket.timeout:
                    return False
                except OSError:
                    return True
            socks = []
            for i in range(40):
                s = socket.create_connection(("127.0.0.1", \(server.port)))
                s.sendall(b"POST /jobs HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Le")
                socks.append(s)
            time.sleep(0.5)
            early = sum(closed(s) for s in socks)
            time.sleep(8)
            late = sum(closed(s) for s in socks)
            print(early, late)
            """,
        ])
        let counts = probe.stdout.split(separator: " ").compactMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(counts == [20, 40], "closed at once / after the idle timeout: \(probe.stdout) \(probe.stderr)")
        let health = try HTTP.request("GET", "\(server.base)/health")
        #expect(health.status == 200)
        #expect(server.process.isRunning)
    }
}
