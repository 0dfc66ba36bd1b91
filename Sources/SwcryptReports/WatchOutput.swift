import Foundation
import SwcryptCore
import SwcryptKit

/// `watch`: one failed read, as a JSON line on stdout and as a journal entry.
public struct WatchEventReport: Encodable {
    /// UTC, RFC 3339 with milliseconds.
    public var time: String
    /// "dm-crypt" (AEAD/HMAC tag mismatch), "dm-integrity" (checksum), "nvme-media".
    public var kind: String
    @ExplicitNull public var volume: String?
    @ExplicitNull public var uuid: String?
    @ExplicitNull public var device: String?
    public var kernelDevice: String
    /// The volume's 512-byte sector; null when the line cannot be placed in the volume.
    @ExplicitNull public var sector: UInt64?
    @ExplicitNull public var lba: UInt64?
    @ExplicitNull public var blocks: Int?
    @ExplicitNull public var status: String?
    public var kernelSequence: UInt64
    public var kernelMessage: String

    public init(_ e: IntegrityEvent) {
        time = Self.rfc3339(e.time)
        kind = e.failure.kind.rawValue
        volume = e.volume.map { "/dev/mapper/\($0.name)" }
        uuid = e.volume?.uuid
        device = e.volume?.dataDevice
        kernelDevice = e.failure.kernelDevice
        sector = e.volumeSector
        lba = e.failure.lba
        blocks = e.failure.blocks
        status = e.failure.status
        kernelSequence = e.record.sequence
        kernelMessage = e.record.message
    }

    public var message: String {
        var m: String
        if let volume { m = "\(volume) (LUKS2 \(uuid ?? "?")): " } else { m = "\(kernelDevice) (no open volume): " }
        switch kind {
        case "nvme-media": m += "NVMe media error"
        case "dm-integrity": m += "dm-integrity checksum failed"
        default: m += "authentication failed"
        }
        if let sector { m += " at sector \(sector)" } else if let lba { m += " at LBA \(lba) of \(kernelDevice)" }
        if let status { m += " (\(status))" }
        return m + "; the read returned an error"
    }

    /// The journal entry: MESSAGE plus SWCRYPT_* fields for `journalctl SWCRYPT_VOLUME=...`.
    /// MESSAGE_ID is fixed for this kind of entry (as systemd's catalog ids are).
    public var journalFields: [(String, String)] {
        var f: [(String, String)] = [("MESSAGE", message), ("PRIORITY", "3"), ("SYSLOG_IDENTIFIER", "swcrypt"),
                                     ("MESSAGE_ID", Self.messageID), ("SWCRYPT_KIND", kind),
                                     ("SWCRYPT_KERNEL_DEVICE", kernelDevice), ("SWCRYPT_KERNEL_SEQUENCE", String(kernelSequence)),
                                     ("SWCRYPT_KERNEL_MESSAGE", kernelMessage)]
        if let volume { f.append(("SWCRYPT_VOLUME", volume)) }
        if let uuid { f.append(("SWCRYPT_UUID", uuid)) }
        if let device { f.append(("SWCRYPT_DEVICE", device)) }
        if let sector { f.append(("SWCRYPT_SECTOR", String(sector))) }
        if let lba { f.append(("SWCRYPT_LBA", String(lba))) }
        return f
    }

    public static let messageID = "787ed7dae31c48bfbffe9b3f457621bf"

    static func rfc3339(_ seconds: Double) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: seconds))
    }
}

/// The Prometheus textfile-collector file (node_exporter's
/// --collector.textfile.directory): per-volume counters, by LUKS2 UUID.
public enum PrometheusTextfile {
    public static func render(_ c: WatchCounters, open: [WatchedVolume]) -> String {
        let openUUIDs = Set(open.map(\.uuid))
        var out = """
            # HELP swcrypt_read_failures_total Reads that failed authentication (dm-crypt, dm-integrity) or with an NVMe media error, as swcrypt watch found them in the kernel log.
            # TYPE swcrypt_read_failures_total counter

            """
        let volumes = c.volumes.values.sorted { ($0.name, $0.uuid) < ($1.name, $1.uuid) }
        for v in volumes {
            for k in IntegrityFailure.Kind.allCases {
                out += "swcrypt_read_failures_total{\(labels(v)),kind=\"\(k.rawValue)\"} \(v.counts[k] ?? 0)\n"
            }
        }
        out += """
            # HELP swcrypt_last_read_failure_timestamp_seconds When the last failed read of the volume was logged.
            # TYPE swcrypt_last_read_failure_timestamp_seconds gauge

            """
        for v in volumes { if let l = v.last { out += "swcrypt_last_read_failure_timestamp_seconds{\(labels(v))} \(number(l.time))\n" } }
        out += """
            # HELP swcrypt_volume_open Whether the volume is open now (1) or only known from earlier counts (0).
            # TYPE swcrypt_volume_open gauge

            """
        for v in volumes { out += "swcrypt_volume_open{\(labels(v))} \(openUUIDs.contains(v.uuid) ? 1 : 0)\n" }
        out += """
            # HELP swcrypt_unattributed_read_failures_total Failed reads on devices no open volume used.
            # TYPE swcrypt_unattributed_read_failures_total counter
            swcrypt_unattributed_read_failures_total \(c.unattributed)
            # HELP swcrypt_suppressed_kernel_lines_total Failure lines the kernel's rate limit dropped (not in the counts above).
            # TYPE swcrypt_suppressed_kernel_lines_total counter
            swcrypt_suppressed_kernel_lines_total \(c.suppressed)
            # HELP swcrypt_watch_counting_since_timestamp_seconds When these counters started.
            # TYPE swcrypt_watch_counting_since_timestamp_seconds gauge
            swcrypt_watch_counting_since_timestamp_seconds \(number(c.since))

            """
        return out
    }

    static func labels(_ v: WatchCounters.Volume) -> String {
        "volume=\"\(escape(v.name))\",uuid=\"\(escape(v.uuid))\""
    }

    /// The exposition format's label escapes: backslash, double quote, newline.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ d: Double) -> String { String(format: "%.3f", d) }
}
