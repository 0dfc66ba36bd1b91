/// What is on a device already: found by libblkid (SwcryptBlkid), shown before a
/// destructive format and refused by `map` where it would write, so that an
/// admin never loses a filesystem, LUKS volume, LVM or RAID member, ZFS pool or
/// partition table unawares.
public struct DeviceSignature: Equatable, Sendable, CustomStringConvertible {
    /// libblkid's TYPE (or PTTYPE for a partition table): "ext4", "crypto_LUKS",
    /// "LVM2_member", "linux_raid_member", "zfs_member", "BitLocker", "gpt", "dos".
    public var type: String
    /// libblkid's USAGE: "filesystem", "crypto", "raid", "other"; nil for partition tables.
    public var usage: String?
    public var label: String?
    /// Byte offset of the magic, when libblkid reports it.
    public var offset: UInt64?
    public var isPartitionTable: Bool

    public init(type: String, usage: String? = nil, label: String? = nil, offset: UInt64? = nil, isPartitionTable: Bool = false) {
        self.type = type; self.usage = usage; self.label = label; self.offset = offset; self.isPartitionTable = isPartitionTable
    }

    /// dm-integrity's own superblock, which `map` reuses for the same geometry.
    public var isIntegritySuperblock: Bool { type == "DM_integrity" }

    /// "ext4 filesystem 'data' (magic at byte 1080)", "gpt partition table".
    public var description: String {
        var s = isPartitionTable ? "\(type) partition table" : "\(type) \(usage ?? "signature")"
        if let label, !label.isEmpty { s += " '\(label)'" }
        if let offset { s += " (magic at byte \(offset))" }
        return s
    }
}

/// The outcome of looking for signatures: what libblkid found, or why it could
/// not look (never "nothing found" when nothing was probed).
public enum SignatureScan: Equatable, Sendable {
    case probed([DeviceSignature])
    case notProbed(reason: String)

    public var found: [DeviceSignature] {
        if case .probed(let s) = self { return s }
        return []
    }

    /// One line: "ext4 filesystem, gpt partition table", "no known signature (libblkid)",
    /// or "not probed: <reason>".
    public var summary: String {
        switch self {
        case .probed(let s) where s.isEmpty: return "no known signature (libblkid)"
        case .probed(let s): return s.map(\.description).joined(separator: ", ")
        case .notProbed(let reason): return "not probed: \(reason)"
        }
    }
}
