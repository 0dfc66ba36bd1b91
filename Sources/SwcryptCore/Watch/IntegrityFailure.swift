/// A read the kernel logged as failed because the data did not authenticate or
/// the medium could not return it. One parser for the three sources:
/// - dm-crypt with AEAD or HMAC tags: "device-mapper: crypt: nvme0c0n1: INTEGRITY AEAD ERROR, sector 270416"
///   (since 6.9 logged after a recheck read; the device is the one dm-crypt read
///   from, the sector the volume's own 512-byte sector);
/// - dm-integrity: "device-mapper: integrity: dm-3: Checksum failed at sector 0x1f8"
///   (the integrity mapping and its 512-byte sector, which is the volume's);
/// - NVMe (nvme_log_error): "nvme0n1: Read(0x2) @ LBA 2048, 8 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) DNR",
///   counted only for status code type 2, media and data integrity errors.
public struct IntegrityFailure: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case aead = "dm-crypt"
        case checksum = "dm-integrity"
        case media = "nvme-media"
    }

    public var kind: Kind
    /// The kernel's name of the device in the line ("nvme0c0n1", "dm-3").
    public var kernelDevice: String
    /// dm-crypt and dm-integrity: the 512-byte sector as logged.
    public var sector: UInt64?
    /// NVMe: the first logical block of the failed command, and how many.
    public var lba: UInt64?
    public var blocks: Int?
    /// NVMe: the status as the kernel names it ("Unrecovered Read Error (sct 0x2 / sc 0x81)").
    public var status: String?

    public init(kind: Kind, kernelDevice: String, sector: UInt64? = nil, lba: UInt64? = nil, blocks: Int? = nil, status: String? = nil) {
        self.kind = kind
        self.kernelDevice = kernelDevice
        self.sector = sector
        self.lba = lba
        self.blocks = blocks
        self.status = status
    }

    public init?(line: String) {
        if let f = Self.deviceMapper(line) ?? Self.nvme(line) { self = f } else { return nil }
    }

    static func deviceMapper(_ line: String) -> IntegrityFailure? {
        for (marker, kind) in [("device-mapper: crypt: ", Kind.aead), ("device-mapper: integrity: ", Kind.checksum)] {
            guard let r = line.firstRange(of: marker) else { continue }
            let rest = line[r.upperBound...]
            guard let colon = rest.firstIndex(of: ":") else { return nil }
            let device = String(rest[..<colon])
            let message = rest[rest.index(after: colon)...]
            if let s = message.firstRange(of: "ERROR, sector ") {
                guard let n = UInt64(message[s.upperBound...].prefix { $0.isNumber }) else { return nil }
                return IntegrityFailure(kind: kind, kernelDevice: device, sector: n)
            }
            if let s = message.firstRange(of: "Checksum failed at sector 0x") {
                guard let n = UInt64(message[s.upperBound...].prefix { $0.isHexDigit }, radix: 16) else { return nil }
                return IntegrityFailure(kind: kind, kernelDevice: device, sector: n)
            }
        }
        return nil
    }

    static func nvme(_ line: String) -> IntegrityFailure? {
        // "nvme0n1: Read(0x2) @ LBA 2048, 8 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) DNR "
        guard line.hasPrefix("nvme"), let colon = line.firstIndex(of: ":"),
              let at = line.firstRange(of: " @ LBA ") else { return nil }
        let device = String(line[..<colon])
        let afterLBA = line[at.upperBound...]
        guard let lba = UInt64(afterLBA.prefix { $0.isNumber }),
              let comma = afterLBA.firstRange(of: ", ") else { return nil }
        let afterCount = afterLBA[comma.upperBound...]
        guard let blocks = Int(afterCount.prefix { $0.isNumber }),
              let blocksEnd = afterCount.firstRange(of: " blocks, ") else { return nil }
        let status = afterCount[blocksEnd.upperBound...]
        guard let sct = status.firstRange(of: "(sct 0x"),
              let type = Int(status[sct.upperBound...].prefix { $0.isHexDigit }, radix: 16), type == 2,
              let close = status.firstIndex(of: ")") else { return nil }
        return IntegrityFailure(kind: .media, kernelDevice: device, lba: lba, blocks: blocks,
                                status: String(status[...close]))
    }

    /// "crypt_convert_block_aead: 12 callbacks suppressed": the kernel's rate limit
    /// dropped that many lines of one of the sources above. The count, or nil.
    public static func suppressed(_ line: String) -> Int? {
        guard let r = line.firstRange(of: " callbacks suppressed") else { return nil }
        let head = line[..<r.lowerBound]
        guard let colon = head.lastIndex(of: ":") else { return nil }
        let function = head[..<colon]
        let sources = ["crypt_", "integrity_", "dm_integrity_", "nvme_log_error"]
        guard sources.contains(where: { function.hasPrefix($0) }) else { return nil }
        return Int(head[head.index(after: colon)...].trimmingPrefix(" "))
    }
}
