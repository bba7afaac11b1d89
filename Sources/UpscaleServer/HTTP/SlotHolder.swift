import Synchronization

/// One taken slot of ``ConcurrencySlots``, given back when the holder goes away: a streamed body holds it, so the
/// slot is free again when the body is finished or dropped (a client that hung up). It also counts the chunks read.
final class SlotHolder: Sendable {
    private let slots: ConcurrencySlots
    private let key: String
    private let index = Atomic<Int>(0)

    init(slots: ConcurrencySlots, key: String) {
        self.slots = slots
        self.key = key
    }

    /// The index of the next chunk.
    func advance() -> Int { index.add(1, ordering: .relaxed).oldValue }

    deinit { slots.giveBack(for: key) }
}
