import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OpenAPIRuntime

/// The paths and methods of the OpenAPI document, for 405 answers and metrics labels.
struct RouteTable: Sendable {
    private let routes: [(segments: [String], template: String, methods: [String])]

    init(openAPIDocument: [UInt8]) {
        var routes: [(segments: [String], template: String, methods: [String])] = []
        if let object = try? JSONSerialization.jsonObject(with: Data(openAPIDocument)) as? [String: Any],
            let paths = object["paths"] as? [String: Any]
        {
            for (template, value) in paths {
                let methods = ((value as? [String: Any])?.keys ?? [:].keys).map { $0.uppercased() }.sorted()
                routes.append((Self.segments(template), template, methods))
            }
        }
        self.routes = routes
    }

    private static func segments(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private func match(_ path: String) -> (template: String, methods: [String])? {
        let parts = Self.segments(path)
        for route in routes where route.segments.count == parts.count {
            let matches = zip(route.segments, parts).allSatisfy { pattern, part in
                (pattern.hasPrefix("{") && pattern.hasSuffix("}")) || pattern == part
            }
            if matches { return (route.template, route.methods) }
        }
        return nil
    }

    func template(for path: String) -> String? { match(path)?.template }

    /// The methods the document lists for `path` (HEAD is implied by GET), or none for an unknown path.
    func methods(for path: String) -> [String] {
        guard let methods = match(path)?.methods else { return [] }
        return methods.contains("GET") ? methods + ["HEAD"] : methods
    }
}
