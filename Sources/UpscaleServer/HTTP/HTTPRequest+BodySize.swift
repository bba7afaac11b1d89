import HTTPTypes

extension HTTPRequest {
    /// The body length `Content-Length` declares, if any.
    var declaredBodyLength: Int? { headerFields[.contentLength].flatMap { Int($0) } }

    /// Whether the body is to be treated as large: `bytes` or more declared, or a length not given (chunked). The
    /// large-body slots (``AuthMiddleware``) and the image lifting (``ImageFieldMiddleware``) use this one rule.
    func hasLargeBody(from bytes: Int) -> Bool {
        (declaredBodyLength ?? .max) >= bytes
    }
}
