import HTTPTypes
import JobStore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request head the HTTP parser refuses (a header bomb, a request line of a megabyte, bytes that are not
/// HTTP) with our JSON error, 431 `invalid_request` for a head past the parser's limits and 400 otherwise, then
/// closes the connection. Without it the client gets Hummingbird's bodiless 400. Only between requests: a parse
/// error inside a request being answered (a malformed chunked body) is left to Hummingbird, which owns the answer
/// then.
final class MalformedHeadAnswer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A request head has arrived and its answer has not ended yet.
    private var answering = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { answering = true }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { answering = false }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !answering else {
            context.fireErrorCaught(error)
            return
        }
        let tooLarge: Bool =
            switch parserError {
            case .headerOverflow: true
            default: false
            }
        let answer = APIError(
            tooLarge ? .init(code: 431, reasonPhrase: "Request Header Fields Too Large") : .badRequest,
            .invalidRequest,
            tooLarge
                ? "the request head is larger than the server reads" : "the request head is not well-formed HTTP/1.1")
        let body = answer.body(requestID: RequestInfo.newID())
        var fields: HTTPFields = [.contentType: "application/json", .connection: "close"]
        fields[.contentLength] = String(body.count)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
