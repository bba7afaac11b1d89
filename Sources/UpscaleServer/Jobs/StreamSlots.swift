import NIOConcurrencyHelpers

/// Open event streams, per token and in all: each stream holds a watcher that reads the store, so one token may
/// hold `perOwner` and the process `total`. A slot is taken when a stream opens and given back when it ends, however
/// it ends (the job finished, the client left).
final class StreamSlots: Sendable {
    let perOwner: Int
    let total: Int
    private let open = NIOLockedValueBox((owners: [String: Int](), total: 0))

    init(perOwner: Int, total: Int) {
        self.perOwner = perOwner
        self.total = total
    }

    enum Refusal: Equatable { case owner, everyone }

    /// Takes a slot for `owner`, or says which limit is full.
    func take(for owner: String) -> Refusal? {
        open.withLockedValue { open in
            if open.total >= total { return .everyone }
            if open.owners[owner, default: 0] >= perOwner { return .owner }
            open.owners[owner, default: 0] += 1
            open.total += 1
            return nil
        }
    }

    func giveBack(for owner: String) {
        open.withLockedValue { open in
            let count = open.owners[owner, default: 0]
            open.owners[owner] = count > 1 ? count - 1 : nil
            open.total = max(0, open.total - 1)
        }
    }
}
