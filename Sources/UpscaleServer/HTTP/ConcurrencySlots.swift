import NIOConcurrencyHelpers

/// Things held open at once, per key (a token, a client address, a file) and in all: a slot is taken when one
/// opens and given back when it ends, however it ends. Event streams, downloads and connections are counted so.
final class ConcurrencySlots: Sendable {
    let perKey: Int
    let total: Int
    private let open = NIOLockedValueBox((keys: [String: Int](), total: 0))

    init(perKey: Int, total: Int = .max) {
        self.perKey = perKey
        self.total = total
    }

    enum Refusal: Equatable { case key, everyone }

    /// Takes a slot for `key`, or says which limit is full.
    func take(for key: String) -> Refusal? {
        open.withLockedValue { open in
            if open.total >= total { return .everyone }
            if open.keys[key, default: 0] >= perKey { return .key }
            open.keys[key, default: 0] += 1
            open.total += 1
            return nil
        }
    }

    func giveBack(for key: String) {
        open.withLockedValue { open in
            guard let count = open.keys[key] else { return }
            open.keys[key] = count > 1 ? count - 1 : nil
            open.total -= 1
        }
    }
}
