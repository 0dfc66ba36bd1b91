import SwcryptCore
import SwcryptReports
import Foundation

/// The benchmark's targets, as ratios from the recorded runs.
struct Targets {
    struct Ratio {
        enum Op: String { case atLeast = ">=", atMost = "<=" }

        var target: String
        var mode: BenchReport.Mode
        var measured: Double?
        var op: Op
        var goal: Double
        var detail: String
        var extra: JSONValue = .null

        var result: String {
            guard let measured else { return "n/a (not measured)" }
            let ok = op == .atLeast ? measured >= goal : measured <= goal
            return ok ? "PASS" : "MISS"
        }

        var measuredText: String {
            guard let measured else { return Fmt.none }
            return Fmt.f3(measured) + (target.contains("amplification") ? "" : "x")
        }

        var json: JSONValue {
            .object([
                ("target", .string(target)), ("mode", .string(mode.rawValue)), ("measured", measured.map(JSONValue.double) ?? .null),
                ("op", .string(op.rawValue)), ("goal", .double(goal)), ("result", .string(result)),
                ("detail", .string(detail)), ("extra", extra),
            ])
        }
    }

    let runs: [String: RunRecord]
    private(set) var ratios: [Ratio] = []

    init(runs: [String: RunRecord]) {
        self.runs = runs
        if runs["device"] != nil { inlineAgainstJournal() }
        for mode in BenchReport.Mode.allCases where runs[mode.rawValue] != nil { writeAmplification(mode) }
        for mode in BenchReport.Mode.allCases where runs[mode.rawValue] != nil { sameVolume(mode) }
        if runs["device"] != nil { initialisationAgainstRaw() }
        if runs["cpu"] != nil { initialisationAgainstCryptsetup() }
    }

    /// A job's number, unless the job failed.
    private func value(_ mode: BenchReport.Mode, _ rowID: String, _ job: FioJobKind, _ key: KeyPath<JobResult, Double?>) -> Double? {
        guard let x = runs[mode.rawValue]?.row(rowID)?[job], x.failure == nil else { return nil }
        return x[keyPath: key]
    }

    private mutating func add(_ target: String, _ mode: BenchReport.Mode, _ num: Double?, _ den: Double?, goal: Double, _ op: Ratio.Op,
                              _ detail: String, extra: JSONValue = .null) {
        var measured: Double?
        if let num, let den, den != 0 { measured = num / den }
        ratios.append(Ratio(target: target, mode: mode, measured: measured, op: op, goal: goal, detail: detail, extra: extra))
    }

    private mutating func inlineAgainstJournal() {
        let a = value(.device, "sw-aegis", .seqWrite, \.mibS), j = value(.device, "sw-journal", .seqWrite, \.mibS)
        add("inline write throughput >= 1.9x the journal layout", .device, a, j, goal: 1.9, .atLeast,
            "swcrypt inline aegis128 seq write \(Fmt.f1(a)) MiB/s / dm-integrity journal aegis128 \(Fmt.f1(j)) MiB/s")
    }

    private mutating func writeAmplification(_ mode: BenchReport.Mode) {
        var was: [(String, FioJobKind, Double?)] = []
        for id in ["sw-aegis", "sw-gcm"] {
            for job in [FioJobKind.seqWrite, .randWrite] { was.append((id, job, value(mode, id, job, \.writeAmplification))) }
        }
        let worst = was.compactMap(\.2).max()
        add("inline write amplification <= 1.01", mode, worst, 1, goal: 1.01, .atMost,
            "worst of inline aegis128/aes-gcm seq and rand writes: "
                + was.map { "\($0.0) \($0.1.rawValue) \(Fmt.f3($0.2))" }.joined(separator: ", "))
    }

    private mutating func sameVolume(_ mode: BenchReport.Mode) {
        var parts: [String] = [], ratios: [Double] = []
        for (job, key) in [(FioJobKind.seqWrite, \JobResult.mibS), (.seqRead, \.mibS), (.randWrite, \.iops)] {
            let s = value(mode, "sw-aegis", job, key), c = value(mode, "cs-aegis", job, key)
            if let s, let c, c > 0 { ratios.append(s / c) }
            parts.append("\(job.rawValue) \(Fmt.f1(s))/\(Fmt.f1(c))")
        }
        let run = runs[mode.rawValue]
        let ts = run?.row("sw-aegis")?.dmTable, tc = run?.row("cs-aegis")?.dmTable
        var same: Bool?
        if let ts, let tc { same = Self.withoutKeyName(ts) == Self.withoutKeyName(tc) }
        let tables = same.map { "; dm tables identical apart from the key name: \($0 ? "yes" : "NO")" } ?? ""
        add("swcrypt's mapping >= 0.97x cryptsetup's for the same volume", mode, ratios.count == 3 ? ratios.min() : nil, 1,
            goal: 0.97, .atLeast, "worst of swcrypt/cryptsetup: " + parts.joined(separator: ", ") + tables,
            extra: .object([("tables_identical", same.map(JSONValue.bool) ?? .null),
                            ("swcrypt_table", .string(ts)), ("cryptsetup_table", .string(tc))]))
    }

    /// A table with its key reference (":swcrypt:NAME", ":cryptsetup:UUID-d0") as ":KEY".
    static func withoutKeyName(_ table: String) -> String {
        table.replacing(#/:(swcrypt|cryptsetup):\S*/#, with: ":KEY")
    }

    private mutating func initialisationAgainstRaw() {
        let i = runs["device"]?.initEntry("sw-aegis")
        let raw = value(.device, "raw-ns1", .seqWrite, \.mibS)
        let reported = i?.reportedMibS, wall = i?.mibS
        var detail = "swcrypt format (inline aegis128) initialised at \(Fmt.f1(reported)) MiB/s (its own timing of the initialisation)"
            + " / raw nsid 1 seq write \(Fmt.f1(raw)) MiB/s"
        if let wall, let raw, wall != 0, raw != 0 {
            detail += "; whole format command by wall clock \(Fmt.f1(wall)) MiB/s = \(Fmt.f2(wall / raw))x"
        }
        add("initialisation >= 0.95x the raw namespace's sequential write speed", .device, reported, raw, goal: 0.95, .atLeast, detail)
    }

    private mutating func initialisationAgainstCryptsetup() {
        let i = runs["cpu"]?.initEntry("sw-aegis"), c = runs["cpu"]?.initEntry("cs-luksformat")
        let sw = i?.reportedMibS, cs = c?.reportedMibS, swWall = i?.mibS, csWall = c?.mibS
        var detail = "each tool's own timing of its wipe, same namespace, same cipher: swcrypt \(Fmt.f1(sw)) MiB/s"
            + " / cryptsetup \(Fmt.f1(cs)) MiB/s (--progress-json)"
        if let swWall, let csWall, swWall != 0, csWall != 0 {
            detail += "; whole commands by wall clock: swcrypt format \(Fmt.f1(swWall)) MiB/s (includes its read-back of every sector)"
                + " / cryptsetup luksFormat \(Fmt.f1(csWall)) MiB/s = \(Fmt.f2(swWall / csWall))x"
        }
        if let ceiling = value(.cpu, "cs-aegis", .seqWrite, \.mibS), let cs, ceiling != 0, cs != 0 {
            detail += "; ceiling: fio QD16 1 MiB writes on cryptsetup's mapping of the volume reach \(Fmt.f1(ceiling)) MiB/s"
                + " = \(Fmt.f2(ceiling / cs))x cryptsetup's wipe, the most any initialiser can reach here"
        }
        add("initialisation at least as fast as cryptsetup's wipe", .cpu, sw, cs, goal: 1.0, .atLeast, detail)
    }
}
