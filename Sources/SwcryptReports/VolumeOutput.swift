import Foundation
import SwcryptCore
import SwcryptKit

/// `status` and `dump` (and `format --json`): human lines and JSON from one model.
public struct VolumeReport: Encodable {
    @ExplicitNull public var name: String?
    public var type: String
    public var uuid: String
    public var cipher: String
    @ExplicitNull public var integrity: String?
    public var tagBytes: Int
    public var tags: String
    public var sectorSize: Int
    public var keyBits: Int
    public var device: String
    public var offsetSectors: UInt64
    @ExplicitNull public var sizeSectors: UInt64?
    @ExplicitNull public var readOnly: Bool?
    public var keyslots: [Int]
    public var initialised: Bool
    public var label: String
    /// The header's mandatory requirements (libcryptsetup's names; "unknown" for
    /// one this libcryptsetup does not know).
    public var requirements: [String]
    /// status only: read-time integrity failures in the kernel log.
    @ExplicitNull public var integrityErrors: IntegrityErrorsReport?
    /// status only: what `swcrypt watch` counted for this volume (by UUID), across
    /// reboots; null when no watch has kept counters on this machine.
    @ExplicitNull public var recordedFailures: RecordedFailuresReport?

    /// `status`: the mapping's state and the kernel log's integrity failures.
    public init(status i: LUKSInfo, active: ActiveVolume?, name: String, errors: IntegrityErrorSummary, recorded: WatchCounters?) {
        self.init(i, active: active, name: name, initialised: i.subsystem != uninitialisedMarker)
        integrityErrors = IntegrityErrorsReport(errors)
        recordedFailures = recorded.map { RecordedFailuresReport($0, uuid: i.uuid) }
    }

    /// `dump`: the header alone.
    public init(header i: LUKSInfo) {
        self.init(i, active: nil, name: nil, initialised: i.subsystem != uninitialisedMarker)
    }

    public init(_ i: LUKSInfo, active: ActiveVolume?, name: String?, initialised: Bool) {
        self.name = name
        type = i.type
        uuid = i.uuid
        cipher = "\(i.cipher)-\(i.cipherMode)"
        integrity = i.integrity
        tagBytes = i.tagBytes
        // An open dm-integrity volume: the mapping's journal setting, not the header's.
        if case .dmIntegrity(let journal) = i.layout {
            tags = IntegrityLayout.dmIntegrity(journal: active.map { !$0.noJournal } ?? journal).tagsName
        } else {
            tags = i.layout.tagsName
        }
        sectorSize = i.sectorSize
        keyBits = i.keyBytes * 8
        device = i.device
        offsetSectors = active?.offset ?? i.dataOffset
        sizeSectors = active?.size
        readOnly = active?.readOnly
        keyslots = i.keyslots
        self.initialised = initialised
        label = i.label
        requirements = i.requirements
    }

    public var lines: [String] {
        var l = [String]()
        if let name { l.append("/dev/mapper/\(name) is active\(readOnly == true ? " (read-only)" : "")") }
        l.append("  type:        \(type)")
        l.append("  cipher:      \(cipher)")
        l.append("  integrity:   \(integrity ?? "none") (\(tagBytes) bytes per sector)")
        l.append("  tags:        \(tags)")
        l.append("  sector size: \(sectorSize)")
        l.append("  key:         \(keyBits) bits")
        l.append("  device:      \(device)")
        l.append("  offset:      \(offsetSectors) sectors")
        if let sizeSectors { l.append("  size:        \(sizeSectors) sectors") }
        l.append("  keyslots:    \(keyslots.map(String.init).joined(separator: ", "))")
        l.append("  uuid:        \(uuid)")
        if !requirements.isEmpty {
            l.append("  requirements: \(requirements.joined(separator: ", "))\(requirements.contains("unknown") ? " (a requirement this libcryptsetup does not know: it will not open the volume)" : "")")
        }
        if !initialised { l.append("  WARNING:     not initialised (format was interrupted or --no-wipe)") }
        if let e = integrityErrors {
            l.append("  integrity errors: \(IntegrityErrorSummary(count: e.count, lastDevice: e.lastDevice, lastSector: e.lastSector).summary)")
        }
        if name != nil {
            l.append("  recorded by swcrypt watch: \(recordedFailures?.summary ?? "nothing (no watch has kept counters here)")")
        }
        return l
    }
}

public struct IntegrityErrorsReport: Encodable {
    public init(_ s: IntegrityErrorSummary) {
        count = s.count; lastDevice = s.lastDevice; lastSector = s.lastSector
    }

    public var count: Int
    @ExplicitNull public var lastDevice: String?
    @ExplicitNull public var lastSector: UInt64?
}

/// What `swcrypt watch` counted for one volume, from its counters file.
public struct RecordedFailuresReport: Encodable {
    public var total: Int
    /// By kind: "dm-crypt", "dm-integrity", "nvme-media".
    public var counts: [String: Int]
    /// When the counters started (RFC 3339, UTC).
    public var since: String
    @ExplicitNull public var lastTime: String?
    @ExplicitNull public var lastKind: String?
    @ExplicitNull public var lastSector: UInt64?

    public init(_ c: WatchCounters, uuid: String) {
        let v = c.volumes[uuid]
        counts = Dictionary(uniqueKeysWithValues: IntegrityFailure.Kind.allCases.map { ($0.rawValue, v?.counts[$0] ?? 0) })
        total = v?.total ?? 0
        since = WatchEventReport.rfc3339(c.since)
        lastTime = v?.last.map { WatchEventReport.rfc3339($0.time) }
        lastKind = v?.last?.kind.rawValue
        lastSector = v?.last?.volumeSector
    }

    public var summary: String {
        var s = "\(total) failed read\(total == 1 ? "" : "s") since \(since)"
        if total > 0 {
            s += " (" + counts.keys.sorted().filter { counts[$0]! > 0 }.map { "\($0) \(counts[$0]!)" }.joined(separator: ", ") + ")"
            if let lastTime { s += "; last \(lastTime)\(lastSector.map { " at sector \($0)" } ?? "")" }
        }
        return s
    }
}

/// `format`: what was built, how the tags were initialised, and the read-back.
public struct FormatVolumeReport {
    public var plan: VolumeFormatPlan
    public var result: VolumeFormatResult

    public init(plan: VolumeFormatPlan, result: VolumeFormatResult) {
        self.plan = plan
        self.result = result
    }

    /// `--json`: the volume as `dump --json` shows it, with `initialised`.
    public var json: VolumeReport { VolumeReport(result.info, active: nil, name: nil, initialised: result.initialised) }

    public var lines: [String] {
        var l = ["\(result.device): \(plan.layoutDescription)"]
        l.append("  cipher \(plan.spec.cryptsetupName), integrity \(plan.integrity.cryptsetupName), \(plan.tagBytes) tag bytes, sector \(plan.sectorSize), uuid \(result.info.uuid)")
        if let w = result.wipe {
            let depth = w.inFlight.map { n in
                ", \(n) writes in flight" + (w.ramp.isEmpty ? "" : " (measured: " + w.ramp.map {
                    "\($0.inFlight): \(String(format: "%.1f", $0.bytesPerSecond / 1_048_576))" }.joined(separator: ", ") + " MiB/s)")
            } ?? ""
            l.append("  initialised \(formatMiB(w.done)) in \(String(format: "%.1f", w.seconds)) s (\(String(format: "%.1f", w.bytesPerSecond / 1_048_576)) MiB/s\(depth))")
            if result.verified {
                l.append("  verified: every sector reads back")
            }
        }
        return l
    }
}
