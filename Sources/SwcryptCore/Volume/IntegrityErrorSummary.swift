/// Read-time authentication failures still in the kernel's ring buffer for the
/// devices of one volume: the dm-crypt and dm-integrity kinds of `IntegrityFailure`.
public struct IntegrityErrorSummary: Equatable, Sendable {
    public var count: Int
    /// The last one: the device named in the kernel's line, and the sector as the
    /// target logs it (dm-crypt: the mapping's own 512-byte sector).
    public var lastDevice: String?
    public var lastSector: UInt64?

    public init(count: Int, lastDevice: String?, lastSector: UInt64?) {
        self.count = count
        self.lastDevice = lastDevice
        self.lastSector = lastSector
    }

    /// Lines about any of `devices` (kernel names: "nvme0n1", its multipath paths
    /// "nvme0c0n1", "dm-3").
    public static func scan(_ lines: [String], devices: Set<String>) -> IntegrityErrorSummary {
        var s = IntegrityErrorSummary(count: 0, lastDevice: nil, lastSector: nil)
        for line in lines {
            guard let f = IntegrityFailure(line: line), devices.contains(f.kernelDevice), let sector = f.sector else { continue }
            s.count += 1
            s.lastDevice = f.kernelDevice
            s.lastSector = sector
        }
        return s
    }

    public var summary: String {
        guard count > 0, let lastDevice, let lastSector else { return "none in the kernel log for its devices" }
        return "\(count) in the kernel log for its devices since boot (last: sector \(lastSector), as logged for \(lastDevice); the kernel rate-limits these lines)"
    }
}
