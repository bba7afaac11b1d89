import Foundation

/// The service's OpenAPI document (`openapi.json`, compiled into the binary), and what the server reads from it: the
/// operation list for `GET /`, the routes for 405 answers, and which operations need a token.
struct OpenAPIDocument: Sendable {
    struct Operation: Sendable {
        let id: String
        let method: String
        let path: String
        let summary: String
        let needsToken: Bool
    }

    let bytes: [UInt8]
    let operations: [Operation]
    let routes: RouteTable

    static let embedded = OpenAPIDocument(bytes: PackageResources.openapi_json)

    init(bytes: [UInt8]) {
        self.bytes = bytes
        routes = RouteTable(openAPIDocument: bytes)
        var operations: [Operation] = []
        if let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let paths = object["paths"] as? [String: [String: Any]]
        {
            for (path, methods) in paths {
                for (method, value) in methods {
                    guard let operation = value as? [String: Any], let id = operation["operationId"] as? String
                    else { continue }
                    operations.append(
                        Operation(
                            id: id, method: method.uppercased(), path: path,
                            summary: operation["summary"] as? String ?? "",
                            needsToken: operation["security"] != nil))
                }
            }
        }
        self.operations = operations.sorted { ($0.path, $0.method) < ($1.path, $1.method) }
    }

    /// Operation ids that require a bearer token.
    var protectedOperations: Set<String> { Set(operations.filter(\.needsToken).map(\.id)) }
}
