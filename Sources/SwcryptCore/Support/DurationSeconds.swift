extension Duration {
    /// The duration in seconds, as a Double (rates, progress, deadlines in poll(2) milliseconds).
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
