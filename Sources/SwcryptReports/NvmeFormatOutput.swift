import SwcryptCore
import SwcryptKit

/// `nvme-format`: the format reached and the kernel's view before and after.
public struct NvmeFormatReport: Encodable {
    public var device: String
    public var nsid: UInt32
    public var lbaf: Int
    public var geometry: String
    public var before: KernelView
    public var after: KernelView
    public var warnings: [String]

    public init(_ r: FormatResult) {
        device = r.deviceAfter
        nsid = r.plan.target.nsid
        lbaf = r.plan.to.index
        geometry = r.plan.to.geometry
        before = KernelView(r.before)
        after = KernelView(r.after)
        warnings = r.warnings
    }

    public var lines: [String] {
        let b = before, a = after
        return [
            "\(device): formatted to LBA format \(lbaf) (\(geometry))",
            "  logical block size : \(b.logicalBlockSize) -> \(a.logicalBlockSize)",
            "  metadata bytes     : \(b.metadataBytes) -> \(a.metadataBytes)",
            "  integrity profile  : \(b.integrityFormat) -> \(a.integrityFormat)",
            "  capacity           : \(b.capacityBytes) -> \(a.capacityBytes) bytes",
        ]
    }
}
