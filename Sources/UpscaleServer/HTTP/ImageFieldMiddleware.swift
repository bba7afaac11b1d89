import HTTPTypes
import OpenAPIRuntime

/// For a job-creating call with a large JSON body: reads the body once and, when ``ImageFieldScanner`` finds its
/// image string, sends the generated decoding the body with that string emptied and hands the text to the operation
/// (``UploadedImage``). The base64 is then decoded where it lies, so a 60 MB body costs one copy of itself and the
/// image, not also a `String` of it. Smaller bodies, and any the scanner is unsure of, are decoded as usual.
struct ImageFieldMiddleware: ServerMiddleware {
    /// From this size (`Content-Length`, or read) a JSON body is scanned.
    let largeBodyBytes: Int

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard AuthMiddleware.jobCreating.contains(operationID), let body,
            request.headerFields[.contentType]?.lowercased().hasPrefix("application/json") == true,
            request.hasLargeBody(from: largeBodyBytes)
        else { return try await next(request, body, metadata) }
        // Read into a buffer of the declared size, so that it is not copied as it grows; the body is already
        // limited to --max-body-mb as it arrives (ServiceMiddleware).
        var bytes: [UInt8] = []
        if let length = request.declaredBodyLength { bytes.reserveCapacity(length) }
        for try await chunk in body { bytes += chunk }
        guard let (range, escapedSlashes) = ImageFieldScanner.imageRange(in: bytes) else {
            return try await next(request, HTTPBody(bytes), metadata)
        }
        let rest = Array(bytes[..<range.lowerBound]) + bytes[range.upperBound...]
        let image = UploadedImage(bytes[range], escapedSlashes: escapedSlashes)
        bytes = []  // the image text holds the body's buffer now, until the operation has taken and decoded it
        var request = request
        request.headerFields[.contentLength] = String(rest.count)
        return try await RequestInfo.$uploadedImage.withValue(image) {
            try await next(request, HTTPBody(rest), metadata)
        }
    }
}
