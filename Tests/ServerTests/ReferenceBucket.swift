import Foundation
import JobStore
import Logging
import Testing

/// A token bucket written the obvious way, to check the stores' single-statement version against.
struct ReferenceBucket {
    let capacity: Double
    let rate: Double
    var level: Double?
    var last = -Double.infinity

    init(capacity: Double, rate: Double) {
        self.capacity = capacity
        self.rate = rate
    }

    mutating func take(at time: Double) -> (allowed: Bool, level: Double) {
        var current = capacity
        if let level {
            current = min(capacity, level + max(0, time - last) * rate)
        }
        last = max(last, time)
        let allowed = current >= 1
        if allowed { current -= 1 }
        level = current
        return (allowed, current)
    }
}
