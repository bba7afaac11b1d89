import HTTPTypes
import JobStore
import NIOConcurrencyHelpers

/// Things held open at once, per key (a token, a client address, a file) and in all: a slot is taken when one
/// opens and given back when it ends, however it ends. Event streams, downloads, large uploads and connections are
/// counted so.
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

    /// Takes a slot for `key`, or throws the refusal with `code`: 429 with `mine` when `key` holds all it may, 503
    /// with `everyone` when the process does; both carry Retry-After.
    func take(for key: String, code: ErrorCode, mine: String, everyone: String) throws {
        switch take(for: key) {
        case .key?: throw APIError.retryLater(.tooManyRequests, code, mine, seconds: 5)
        case .everyone?: throw APIError.retryLater(.serviceUnavailable, code, everyone, seconds: 5)
        case nil: break
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
