/// What the kernel says about a block device's geometry and integrity profile.
public struct KernelBlockView: Equatable, Sendable, Codable {
    public var logicalBlockSize: Int
    public var metadataBytes: Int
    public var integrityFormat: String
    public var tagSize: Int
    public var capacityBytes: UInt64

    public init(logicalBlockSize: Int, metadataBytes: Int, integrityFormat: String, tagSize: Int,
                capacityBytes: UInt64) {
        self.logicalBlockSize = logicalBlockSize
        self.metadataBytes = metadataBytes
        self.integrityFormat = integrityFormat
        self.tagSize = tagSize
        self.capacityBytes = capacityBytes
    }

    /// Per-sector metadata free for dm-crypt/dm-integrity: present, and not taken
    /// by protection information (the `nop` profile).
    public var freeMetadataBytes: Int {
        integrityFormat == "nop" ? metadataBytes : 0
    }

    enum CodingKeys: String, CodingKey {
        case logicalBlockSize = "logical_block_size"
        case metadataBytes = "metadata_bytes"
        case integrityFormat = "integrity_format"
        case tagSize = "tag_size"
        case capacityBytes = "capacity_bytes"
    }
}

/// `swcrypt id-ns`: identify data, the kernel's view and what fits where.
public struct NamespaceReport: Equatable, Sendable {
    public var device: String
    public var nsid: UInt32
    public var identify: IdentifyNamespace
    public var kernel: KernelBlockView
    public var candidates: [AuthenticatedCipher]

    public init(device: String, nsid: UInt32, identify: IdentifyNamespace, kernel: KernelBlockView,
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
        if kernel.capacityBytes == 0 {
            return "the kernel cannot use the format in use (\(geometry)): capacity 0; reformat to a format with separate metadata"
        }
        if kernel.metadataBytes > 0 && kernel.integrityFormat != "nop" {
            return "the format in use (\(geometry)) carries protection information (\(kernel.integrityFormat)); no metadata is free for authenticated encryption"
        }
        let fitting = candidates.filter { $0.metadataBytes <= kernel.freeMetadataBytes }
        if let best = fitting.first {
            return "ready: the format in use (\(geometry)) holds \(best.name) tags inline (\(best.metadataBytes) of \(kernel.freeMetadataBytes) metadata bytes)"
        }
        let preferred = candidates.first!
        if let target = smallestFormat(holding: preferred) {
            let have = kernel.metadataBytes == 0 ? "has no metadata" : "has only \(kernel.metadataBytes) metadata bytes"
            return "not ready: the format in use (\(geometry)) \(have); `swcrypt nvme-format \(device) --lbaf \(target.index)` gives \(target.geometry), which holds \(preferred.name)"
        }
        return "no inline tags possible: no 4096-byte format of this namespace holds \(preferred.metadataBytes) bytes of metadata; use dm-integrity emulation"
    }

    /// Human output: nvme-cli-identical lines, then the kernel view and the verdict.
    public var humanLines: [String] {
        var lines = identify.nvmeCLIHeaderLines(nsid: nsid) + identify.nvmeCLILBAFLines()
        lines.append("")
        lines.append("kernel view of \(device):")
        lines.append("  logical block size : \(kernel.logicalBlockSize)")
        lines.append("  metadata bytes     : \(kernel.metadataBytes)")
        lines.append("  integrity profile  : \(kernel.integrityFormat) (tag size \(kernel.tagSize))")
        lines.append("  capacity           : \(kernel.capacityBytes) bytes (\(formatMiB(kernel.capacityBytes)))")
        lines.append("")
        for fit in fits {
            let list = fit.ciphers.isEmpty
                ? "fits none (smallest tag needs \(candidates.map(\.metadataBytes).min() ?? 0) B)"
                : "fits " + fit.ciphers.map { "\($0.name) (\($0.metadataBytes) B)" }.joined(separator: ", ")
            lines.append("\(fit.lbaf.geometry): \(list)")
        }
        lines.append("verdict: \(verdict)")
        return lines
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

// MARK: - JSON

/// The `--json` shape of id-ns (stable field names, snake_case).
public struct NamespaceReportJSON: Codable, Equatable, Sendable {
    public struct LBAF: Codable, Equatable, Sendable {
        public var index: Int
        public var ms: Int
        public var lbads: Int
        public var dataSize: Int
        public var rp: Int
        public var inUse: Bool
        enum CodingKeys: String, CodingKey {
            case index, ms, lbads, rp
            case dataSize = "data_size"
            case inUse = "in_use"
        }
    }
    public struct Fit: Codable, Equatable, Sendable {
        public var geometry: String
        public var lbaf: Int
        public var ciphers: [Cipher]
    }
    public struct Cipher: Codable, Equatable, Sendable {
        public var name: String
        public var metadataBytes: Int
        enum CodingKeys: String, CodingKey {
            case name
            case metadataBytes = "metadata_bytes"
        }
    }

    public var device: String
    public var nsid: UInt32
    public var nlbaf: Int
    public var flbas: Int
    public var inUse: Int
    public var lbafs: [LBAF]
    public var kernel: KernelBlockView
    public var fits: [Fit]
    public var verdict: String

    enum CodingKeys: String, CodingKey {
        case device, nsid, nlbaf, flbas, lbafs, kernel, fits, verdict
        case inUse = "in_use"
    }

    public init(_ r: NamespaceReport) {
        device = r.device
        nsid = r.nsid
        nlbaf = Int(r.identify.nlbaf)
        flbas = Int(r.identify.flbas)
        inUse = r.identify.inUseIndex
        lbafs = r.identify.lbafs.map {
            LBAF(index: $0.index, ms: $0.ms, lbads: $0.lbads, dataSize: $0.dataSize, rp: $0.rp,
                 inUse: $0.index == r.identify.inUseIndex)
        }
        kernel = r.kernel
        fits = r.fits.map { f in
            Fit(geometry: f.lbaf.geometry, lbaf: f.lbaf.index,
                ciphers: f.ciphers.map { Cipher(name: $0.name, metadataBytes: $0.metadataBytes) })
        }
        verdict = r.verdict
    }
}
