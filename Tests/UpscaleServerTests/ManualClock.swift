import Foundation
import Synchronization
import UpscaleServer

/// Wall time that moves only when a test moves it, so expiry, refill and sweeping are checked without waiting.
final class ManualClock: Sendable {
    private let time: Mutex<Date>

    init(_ start: Date = Date()) { time = Mutex(start) }

    var now: Date { time.withLock { $0 } }

    func advance(seconds: Double) { time.withLock { $0 += seconds } }

    var wallClock: WallClock { WallClock { [self] in now } }
}
