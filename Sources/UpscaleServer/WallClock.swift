public import Foundation

/// The wall time the service reads for leases, link expiry, rate buckets, sweeps and readiness. The server runs on
/// ``system``; tests pass a clock they move by hand, so expiry and refill are checked without waiting for them.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) { self.read = read }

    public static let system = WallClock { Date() }

    public var now: Date { read() }
}
