import SwcryptCore
import SwcryptReports
import Foundation

/// One VM boot's results, as the runner in the guest writes them
/// (bench-results/run-<mode>.json). Read with Codable for the report; written in
/// this key order (`json`), as the earlier script wrote them.
public struct RunRecord: Decodable, Sendable {
    public struct Namespaces: Decodable, Sendable {
        public var nsid1: String
        public var nsid2: String
    }

    public struct FioJobSettings: Decodable, Sendable {
        public var runtimeS: Int
        public var readRampS: Int
        public var iodepth: Int
        public var ioengine: String
        public var direct: Bool
    }

    public var mode: String
    /// Set when the VM run failed: then there are no rows.
    public var error: String?
    public var throttleBps: Int?
    public var kernel: String?
    public var fio: String?
    public var cryptsetup: String?
    public var swcrypt: String?
    public var cryptoDrivers: String?
    public var vcpus: Int?
    public var namespaces: Namespaces?
    public var namespaceMib: Double?
    public var fioJob: FioJobSettings?
    public var guestSeconds: Double?
    public var rows: [Row]
    public var inits: [InitEntry]
    /// swcrypt scrub of the inline aegis128 volume (absent in records made before it).
    public var scrub: ScrubEntry?
    /// Added on the host after the boot (`swcrypt-bench record`).
    public var wallSeconds: Int?
    public var otherQemuProcessesAtStart: Int?

    enum CodingKeys: String, CodingKey {
        case mode, error, throttleBps, kernel, fio, cryptsetup, swcrypt, cryptoDrivers, vcpus, namespaces
        case namespaceMib, fioJob, guestSeconds, rows, inits = "init", scrub, wallSeconds, otherQemuProcessesAtStart
    }

    public func row(_ id: String) -> Row? { rows.first { $0.id == id } }
    public func initEntry(_ id: String) -> InitEntry? { inits.first { $0.id == id } }

    /// Reads a record file (keys in snake_case).
    public static func decode(_ data: Data) throws -> RunRecord {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(RunRecord.self, from: data)
    }
}

/// One fio job's numbers (`seq_write`, `seq_read`, `rand_write`), or the error that
/// stopped it.
public struct JobResult: Decodable, Equatable, Sendable {
    public var mibS: Double?
    public var iops: Double?
    public var bytes: Int?
    /// Sectors the namespace wrote from just before the job until its mapping was closed.
    public var nsSectorsWritten: Int?
    public var writeAmplification: Double?
    /// Medians only: every round's MiB/s, in order.
    public var samplesMibS: [Double?]?
    public var error: String?

    /// The error, unless empty (the report treats "" as none).
    public var failure: String? { error.flatMap { $0.isEmpty ? nil : $0 } }

    public var json: JSONValue {
        let numbers: [(String, JSONValue)] = [
            ("mib_s", .number(mibS)), ("iops", .number(iops)), ("bytes", .number(bytes)),
            ("ns_sectors_written", .number(nsSectorsWritten)), ("write_amplification", .number(writeAmplification)),
        ]
        // A job that only failed is written as {"error": ...}.
        if samplesMibS == nil, error != nil, numbers.allSatisfy({ $0.1 == .null }) {
            return .object([("error", .string(error))])
        }
        var members = numbers
        if let samplesMibS { members.append(("samples_mib_s", .array(samplesMibS.map { JSONValue.number($0) }))) }
        members.append(("error", .string(error)))
        return .object(members)
    }
}

/// The three fio jobs every configuration runs.
public enum FioJobKind: String, CaseIterable, Sendable {
    case seqWrite = "seq_write"
    case seqRead = "seq_read"
    case randWrite = "rand_write"
}

/// One configuration's row: measured, failed before measuring, or not possible.
public struct Row: Decodable, Sendable {
    public enum Status: String, Decodable, Sendable {
        case ok
        case error
        case notApplicable = "n/a"
    }

    public var id: String
    public var label: String
    public var layout: String
    public var namespace: String
    public var status: Status
    public var error: String?
    /// Why a configuration is not possible (status n/a).
    public var reason: String?
    public var dmTable: String?
    public var seqWrite: JobResult?
    public var seqRead: JobResult?
    public var randWrite: JobResult?

    public init(id: String, label: String, layout: String, namespace: String, status: Status,
                error: String? = nil, reason: String? = nil, dmTable: String? = nil, jobs: [FioJobKind: JobResult] = [:]) {
        self.id = id
        self.label = label
        self.layout = layout
        self.namespace = namespace
        self.status = status
        self.error = error
        self.reason = reason
        self.dmTable = dmTable
        self.seqWrite = jobs[.seqWrite]
        self.seqRead = jobs[.seqRead]
        self.randWrite = jobs[.randWrite]
    }

    public subscript(job: FioJobKind) -> JobResult? {
        switch job {
        case .seqWrite: return seqWrite
        case .seqRead: return seqRead
        case .randWrite: return randWrite
        }
    }

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(id)), ("label", .string(label)), ("layout", .string(layout)),
            ("namespace", .string(namespace)), ("status", .string(status.rawValue)),
        ]
        if status == .notApplicable {
            members.append(("reason", .string(reason)))
            return .object(members)
        }
        members += [("error", .string(error)), ("dm_table", .string(dmTable))]
        for job in FioJobKind.allCases {
            if let result = self[job] { members.append((job.rawValue, result.json)) }
        }
        return .object(members)
    }
}

/// One initialisation: a format command, timed, and the read-back after it.
public struct InitEntry: Decodable, Sendable {
    public var id: String
    public var tool: String
    public var layout: String
    public var namespace: String
    /// The whole command by wall clock.
    public var seconds: Double?
    /// The data area as the kernel maps it.
    public var mib: Double?
    /// The tool's own timing of its wipe.
    public var reportedMib: Double?
    public var reportedSeconds: Double?
    public var nsSectorsWritten: Int?
    /// MiB that could not be read back afterwards (failed 1 MiB reads).
    public var unreadableMibAfter: Int?
    public var error: String?

    /// The whole command's rate by wall clock.
    public var mibS: Double? { mibPerSecond(mib, seconds) }
    /// The tool's own rate.
    public var reportedMibS: Double? { mibPerSecond(reportedMib, reportedSeconds) }
    /// Sectors the namespace wrote per data sector.
    public var writeAmplification: Double? {
        nsSectorsWritten.flatMap { n in mib.flatMap { $0 > 0 ? Double(n) / ($0 * 2048) : nil } }
    }


    public var json: JSONValue {
        .object([
            ("id", .string(id)), ("tool", .string(tool)), ("layout", .string(layout)), ("namespace", .string(namespace)),
            ("seconds", .number(seconds)), ("mib", .number(mib)), ("reported_mib", .number(reportedMib)),
            ("reported_seconds", .number(reportedSeconds)), ("ns_sectors_written", .number(nsSectorsWritten)),
            ("unreadable_mib_after", .number(unreadableMibAfter)), ("error", .string(error)),
            ("mib_s", .number(mibS)), ("reported_mib_s", .number(reportedMibS)),
            ("write_amplification", .number(writeAmplification)),
        ])
    }
}

/// MiB over seconds; nil when either is missing or no time passed.
func mibPerSecond(_ mib: Double?, _ seconds: Double?) -> Double? {
    guard let mib, let seconds, seconds > 0 else { return nil }
    return mib / seconds
}
