import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A few JSON calls over URLSession, with the server's error message surfaced as a one-line failure.
struct HTTPClient {
    let base: String
    let token: String

    func url(_ pathOrURL: String) throws -> URL {
        let text = pathOrURL.hasPrefix("http://") || pathOrURL.hasPrefix("https://") ? pathOrURL : base + pathOrURL
        guard let url = URL(string: text) else { throw fail("not a URL: \(text)") }
        return url
    }

    func json(_ method: String, _ path: String, body: [String: Any]?, expecting: Set<Int>) async throws -> [String: Any]
    {
        try await request(method, path, body: body, expecting: expecting).1
    }

    func request(_ method: String, _ path: String, body: [String: Any]?, expecting: Set<Int>) async throws
        -> (Int, [String: Any])
    {
        var request = URLRequest(url: try url(path))
        request.httpMethod = method
        request.timeoutInterval = 600
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        var (data, status, retryAfter) = try await send(request)
        // A busy server (429 rate or job limit, 503 full queue) says when to come back: wait that long, a few times.
        var retries = 0
        while [429, 503].contains(status), let seconds = retryAfter, seconds <= 120, retries < 5 {
            let error = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["error"] as? [String: Any]
            FileHandle.standardError.write(
                Data(
                    "server busy (\(error?["code"] as? String ?? "\(status)")); retrying in \(seconds) s\n".utf8))
            try await Task.sleep(for: .seconds(seconds))
            retries += 1
            (data, status, retryAfter) = try await send(request)
        }
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        guard expecting.contains(status) else {
            let error = object["error"] as? [String: Any]
            throw fail(
                "server answered \(status): \(error?["message"] as? String ?? String(decoding: data.prefix(200), as: UTF8.self))"
            )
        }
        return (status, object)
    }

    func download(_ link: String) async throws -> Data {
        let (data, status, _) = try await send(URLRequest(url: try url(link)))
        guard status == 200 else { throw fail("download answered \(status)") }
        return data
    }

    /// The body, the status and the `Retry-After` seconds if the answer has them.
    private func send(_ request: URLRequest) async throws -> (Data, Int, Int?) {
        try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(
                        throwing: fail("\(request.url?.host ?? "server"): \(error.localizedDescription)"))
                    return
                }
                let http = response as? HTTPURLResponse
                let retryAfter = (http?.value(forHTTPHeaderField: "Retry-After")).flatMap { Int($0) }
                continuation.resume(returning: (data ?? Data(), http?.statusCode ?? 0, retryAfter))
            }.resume()
        }
    }
}
