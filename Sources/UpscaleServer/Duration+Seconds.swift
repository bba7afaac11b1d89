extension Duration {
    /// The duration as fractional seconds, for logs, metrics, the start-up line and the store benchmark.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
