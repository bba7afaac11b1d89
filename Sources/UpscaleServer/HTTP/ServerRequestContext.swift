import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage and the peer's address, which the service needs
/// for per-address limits (failed authentication) and for believing a trusted proxy's forwarded fields.
struct ServerRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
