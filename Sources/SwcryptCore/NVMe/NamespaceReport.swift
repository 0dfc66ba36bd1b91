/// `swcrypt id-ns`: identify data, the kernel's view and what fits where.
public struct NamespaceReport: Equatable, Sendable {
    public var device: String
    public var nsid: UInt32
    public var identify: IdentifyNamespace
    public var kernel: BlockDevice
    public var candidates: [AuthenticatedCipher]

    public init(device: String, nsid: UInt32, identify: IdentifyNamespace, kernel: BlockDevice,
                candidates: [AuthenticatedCipher] = AuthenticatedCipher.common) {
        self.device = device
        self.nsid = nsid
        self.identify = identify
        self.kernel = kernel
        self.candidates = candidates
    }

    /// Formats with metadata and what they can hold, one entry per distinct geometry.
    public var fits: [FitReport] {
        var seen = Set<String>()
        return identify.lbafs.filter { $0.dataSize > 0 && $0.ms > 0 }.compactMap { f in
            guard seen.insert(f.geometry).inserted else { return nil }
            return FitReport(lbaf: f, ciphers: candidates.filter { $0.metadataBytes <= f.ms })
        }
    }

    /// The 4096-byte format with the least metadata that still holds `cipher`'s
    /// tag (ties: better relative performance, then lower index).
    public func smallestFormat(holding cipher: AuthenticatedCipher, dataSize: Int = 4096) -> LBAFormat? {
        identify.lbafs
            .filter { $0.dataSize == dataSize && $0.ms >= cipher.metadataBytes }
            .min { ($0.ms, $0.rp, $0.index) < ($1.ms, $1.rp, $1.index) }
    }

    /// One line: can the namespace hold inline tags now, and if not what to do.
    public var verdict: String {
        let inUse = identify.inUse
        let geometry = inUse.map { "\($0.geometry), lbaf \($0.index)" } ?? "unknown"
        let metadataBytes = kernel.metadataBytes ?? 0
        if kernel.sizeBytes == 0 {
            return "the kernel cannot use the format in use (\(geometry)): capacity 0; reformat to a format with separate metadata"
        }
        if metadataBytes > 0 && kernel.integrity != .nop {
            return "the format in use (\(geometry)) carries protection information (\(kernel.integrity)); no metadata is free for authenticated encryption"
        }
        let fitting = candidates.filter { $0.metadataBytes <= kernel.freeTagBytes }
        if let best = fitting.first {
            return "ready: the format in use (\(geometry)) holds \(best.name) tags inline (\(best.metadataBytes) of \(kernel.freeTagBytes) metadata bytes)"
        }
        let preferred = candidates.first!
        if let target = smallestFormat(holding: preferred) {
            let have = metadataBytes == 0 ? "has no metadata" : "has only \(metadataBytes) metadata bytes"
            return "not ready: the format in use (\(geometry)) \(have); `swcrypt nvme-format \(device) --lbaf \(target.index)` gives \(target.geometry), which holds \(preferred.name)"
        }
        return "no inline tags possible: no 4096-byte format of this namespace holds \(preferred.metadataBytes) bytes of metadata; use dm-integrity emulation"
    }
}

public struct FitReport: Equatable, Sendable {
    public var lbaf: LBAFormat
    public var ciphers: [AuthenticatedCipher]
}

/// "512.0 MiB", "1.50 GiB".
public func formatMiB(_ bytes: UInt64) -> String {
    let mib = Double(bytes) / 1_048_576
    if mib >= 1024 {
        return String(format2: mib / 1024) + " GiB"
    }
    return String(format1: mib) + " MiB"
}

extension String {
    /// Fixed-point formatting without Foundation: one decimal.
    init(format1 value: Double) {
        let scaled = Int((value * 10).rounded())
        self = "\(scaled / 10).\(abs(scaled % 10))"
    }

    init(format2 value: Double) {
        let scaled = Int((value * 100).rounded())
        let frac = abs(scaled % 100)
        self = "\(scaled / 100)." + (frac < 10 ? "0\(frac)" : "\(frac)")
    }
}
