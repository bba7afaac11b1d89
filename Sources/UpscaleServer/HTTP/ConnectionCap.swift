import NIOCore

/// Open connections per client address, counted in ``ConcurrencySlots`` shared by every connection: one address
/// may hold at most the slots' `perKey` at once, so a client opening hundreds of idle connections cannot take the
/// descriptors every other client needs. A connection over the limit is closed before a byte of it is read.
/// Trusted proxies, which carry many clients, are not counted.
final class ConnectionCap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let slots: ConcurrencySlots
    private let exempt: Set<String>
    private var counted: String?

    init(slots: ConcurrencySlots, exempt: Set<String>) {
        self.slots = slots
        self.exempt = exempt
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let address = context.channel.remoteAddress?.ipAddress, !exempt.contains(address) else { return }
        if slots.take(for: address) == nil {
            counted = address
        } else {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let counted { slots.giveBack(for: counted) }
        counted = nil
    }
}
