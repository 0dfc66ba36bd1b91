/// `scrub --rate`: a ceiling on the read rate, not an average. After each read the
/// scrub waits until the bytes read so far are due at the rate; time the reads fell
/// behind (a busy disk, a stopped process, a suspended machine) is not made up
/// later by reading faster than the rate, which is the thing --rate exists to
/// prevent. At most `slackSeconds` of lag are carried over (so one slow read among
/// many fast ones does not lower the rate): after a stall the scrub reads that
/// much, and the read in hand, without waiting, then keeps the rate again.
public struct ScrubPace: Sendable, Equatable {
    public let bytesPerSecond: Double
    public let slackSeconds: Double
    /// The moment (in the caller's clock, seconds) at which the bytes read so far are due.
    public private(set) var due: Double

    public init(bytesPerSecond: Double, startingAt now: Double, slackSeconds: Double = 0.25) {
        self.bytesPerSecond = bytesPerSecond
        self.slackSeconds = slackSeconds
        self.due = now
    }

    /// `bytes` more were read; returns how long to wait, at `now`, before the next read.
    public mutating func wait(afterReading bytes: Int, now: Double) -> Double {
        due = max(due + Double(bytes) / bytesPerSecond, now - slackSeconds)
        return max(0, due - now)
    }
}
