/// Read-time integrity failures the kernel logged: dm-crypt's "INTEGRITY AEAD
/// ERROR, sector N" / "INTEGRITY HMAC ERROR, sector N" and dm-integrity's
/// "Checksum failed at sector 0xN", each naming the block device it read from.
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
            guard let (device, sector) = parse(line), devices.contains(device) else { continue }
            s.count += 1
            s.lastDevice = device
            s.lastSector = sector
        }
        return s
    }

    /// (device, sector) from one kernel line, or nil.
    public static func parse(_ line: String) -> (String, UInt64)? {
        for marker in ["device-mapper: crypt: ", "device-mapper: integrity: "] {
            guard let r = line.firstRange(of: marker) else { continue }
            let rest = line[r.upperBound...]
            guard let colon = rest.firstIndex(of: ":") else { return nil }
            let device = String(rest[..<colon])
            let message = rest[rest.index(after: colon)...]
            if let s = message.firstRange(of: "ERROR, sector ") {
                guard let n = UInt64(message[s.upperBound...].prefix { $0.isNumber }) else { return nil }
                return (device, n)
            }
            if let s = message.firstRange(of: "Checksum failed at sector 0x") {
                guard let n = UInt64(message[s.upperBound...].prefix { $0.isHexDigit }, radix: 16) else { return nil }
                return (device, n)
            }
        }
        return nil
    }

    public var summary: String {
        guard count > 0, let lastDevice, let lastSector else { return "none in the kernel log for its devices" }
        return "\(count) in the kernel log for its devices since boot (last: sector \(lastSector), as logged for \(lastDevice); the kernel rate-limits these lines)"
    }
}
