import HTTPTypes
import Hummingbird

/// `GET /` from a browser goes to the web page; API clients (curl sends `Accept: */*`) still get the JSON info, as the
/// old service's examples expect.
struct BrowserRedirectMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.method == .get, request.uri.path == "/",
            let accept = request.headers[.accept]?.lowercased(), accept.contains("text/html")
        else { return try await next(request, context) }
        var headers = HTTPFields()
        headers[.location] = "/ui"
        return Response(status: .seeOther, headers: headers)
    }
}
