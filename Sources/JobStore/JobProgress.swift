/// Where a running job is, reported by its worker.
public struct JobProgress: Sendable, Equatable {
    public var fraction: Double
    public var step: String
    public var tilesDone: Int?
    public var tilesTotal: Int?

    public init(fraction: Double, step: String, tilesDone: Int? = nil, tilesTotal: Int? = nil) {
        self.fraction = fraction
        self.step = step
        self.tilesDone = tilesDone
        self.tilesTotal = tilesTotal
    }
}
