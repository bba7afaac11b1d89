import NIOConcurrencyHelpers
import NIOCore

/// Open connections per client address, shared by every connection of the server: one address may hold at most
/// `limit` at once (trusted proxies, which carry many clients, are exempt), so a client opening hundreds of idle
/// connections cannot take the descriptors every other client needs.
final class ConnectionCounts: Sendable {
    let limit: Int
    let exempt: Set<String>
    private let open = NIOLockedValueBox([String: Int]())

    init(limit: Int, exempt: Set<String>) {
        self.limit = limit
        self.exempt = exempt
    }

    /// Counts a new connection from `address`; false when that address already holds `limit`.
    func admit(_ address: String) -> Bool {
        if exempt.contains(address) { return true }
        return open.withLockedValue { open in
            let count = open[address, default: 0]
            guard count < limit else { return false }
            open[address] = count + 1
            return true
        }
    }

    func release(_ address: String) {
        if exempt.contains(address) { return }
        open.withLockedValue { open in
            let count = open[address, default: 0]
            open[address] = count > 1 ? count - 1 : nil
        }
    }
}

/// The pipeline's gate for ``ConnectionCounts``: a connection over its address's limit is closed before a byte of it
/// is read.
final class ConnectionCap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let counts: ConnectionCounts
    private var counted: String?

    init(counts: ConnectionCounts) { self.counts = counts }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let address = context.channel.remoteAddress?.ipAddress else { return }
        if counts.admit(address) {
            counted = address
        } else {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let counted { counts.release(counted) }
        counted = nil
    }
}
