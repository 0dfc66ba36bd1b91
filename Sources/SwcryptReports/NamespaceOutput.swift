import SwcryptCore

/// `swcrypt id-ns`: human lines.
extension NamespaceReport {
    /// Human output: nvme-cli-identical lines, then the kernel view and the verdict.
    public var lines: [String] {
        var lines = identify.nvmeCLIHeaderLines(nsid: nsid) + identify.nvmeCLILBAFLines()
        lines.append("")
        lines.append("kernel view of \(device):")
        lines.append("  logical block size : \(kernel.logicalBlockSize)")
        lines.append("  metadata bytes     : \(kernel.metadataBytes ?? 0)")
        lines.append("  integrity profile  : \(kernel.integrity) (tag size \(kernel.integrityTagSize))")
        lines.append("  capacity           : \(kernel.sizeBytes) bytes (\(formatMiB(kernel.sizeBytes)))")
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

// MARK: - JSON

/// The `--json` shape of id-ns (stable field names, snake_case).
public struct NamespaceReportJSON: Encodable, Equatable, Sendable {
    public struct LBAF: Encodable, Equatable, Sendable {
        public var index: Int
        public var ms: Int
        public var lbads: Int
        public var dataSize: Int
        public var rp: Int
        public var inUse: Bool
    }
    public struct Fit: Encodable, Equatable, Sendable {
        public var geometry: String
        public var lbaf: Int
        public var ciphers: [Cipher]
    }
    public struct Cipher: Encodable, Equatable, Sendable {
        public var name: String
        public var metadataBytes: Int
    }

    public var device: String
    public var nsid: UInt32
    public var nlbaf: Int
    public var flbas: Int
    public var inUse: Int
    public var lbafs: [LBAF]
    public var kernel: KernelView
    public var fits: [Fit]
    public var verdict: String


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
        kernel = KernelView(r.kernel)
        fits = r.fits.map { f in
            Fit(geometry: f.lbaf.geometry, lbaf: f.lbaf.index,
                ciphers: f.ciphers.map { Cipher(name: $0.name, metadataBytes: $0.metadataBytes) })
        }
        verdict = r.verdict
    }
}

/// The kernel's view of a block device in `--json` (id-ns, nvme-format's before and after).
public struct KernelView: Encodable, Equatable, Sendable {
    public var logicalBlockSize: Int
    public var metadataBytes: Int
    public var integrityFormat: String
    public var tagSize: Int
    public var capacityBytes: UInt64

    public init(_ d: BlockDevice) {
        logicalBlockSize = d.logicalBlockSize
        metadataBytes = d.metadataBytes ?? 0
        integrityFormat = d.integrity.description
        tagSize = d.integrityTagSize
        capacityBytes = d.sizeBytes
    }

}
