import SwcryptCore
import SwcryptReports
import Foundation

/// The benchmark's targets, as ratios from the recorded runs.
struct Targets {
    struct Ratio {
        /// `within`: |measured - goal| <= 10% of goal. `reported`: no target, the number is the result.
        enum Op: String { case atLeast = ">=", atMost = "<=", within = "within 10% of", reported = "reported" }

        var target: String
        var mode: BenchReport.Mode
        var measured: Double?
        var op: Op
        var goal: Double
        var detail: String
        var extra: JSONValue = .null

        var result: String {
            guard let measured else { return "n/a (not measured)" }
            let ok: Bool
            switch op {
            case .atLeast: ok = measured >= goal
            case .atMost: ok = measured <= goal
            case .within: ok = abs(measured - goal) <= goal / 10
            case .reported: return "reported (no target)"
            }
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
        for mode in BenchReport.Mode.allCases where runs[mode.rawValue]?.scrub != nil { scrub(mode) }
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

    /// Scrub: throughput against the raw namespace's sequential read (the issue's
    /// target is for the unthrottled run; the device-bound one is shown beside it),
    /// --rate, and the foreground reader's p99 with a scrub beside it.
    private mutating func scrub(_ mode: BenchReport.Mode) {
        guard let s = runs[mode.rawValue]?.scrub else { return }
        let raw = value(mode, "raw-ns1", .seqRead, \.mibS), vol = value(mode, "sw-aegis", .seqRead, \.mibS)
        add("scrub throughput >= 0.95x the raw namespace's sequential read", mode, s.mibS, raw, goal: 0.95, .atLeast,
            "swcrypt scrub of the inline aegis128 volume \(Fmt.f1(s.mibS)) MiB/s (4 MiB direct reads, one at a time, its own timing)"
                + " / raw nsid 1 fio seq read 1M QD16 \(Fmt.f1(raw)) MiB/s; fio seq read 1M QD16 through the same mapping: \(Fmt.f1(vol)) MiB/s")
        add("scrub throughput >= 0.95x fio's sequential read through the same mapping", mode, s.mibS, vol, goal: 0.95, .atLeast,
            "swcrypt scrub \(Fmt.f1(s.mibS)) MiB/s / fio seq read 1M QD16 of swcrypt's mapping of the same volume \(Fmt.f1(vol)) MiB/s"
                + " (what the mapping can give; under TCG a read that decrypts is CPU-bound, the raw namespace's is not)")
        add("scrub --rate kept within 10%", mode, s.pacedMibS, s.askedMibS, goal: 1.0, .within,
            "asked \(Fmt.f1(s.askedMibS)) MiB/s, read \(Fmt.f1(s.pacedMib)) MiB in \(Fmt.f1(s.pacedSeconds)) s = \(Fmt.f3(s.pacedMibS)) MiB/s (interrupted with SIGINT)")
        add("foreground p99 read latency beside a scrub at the default rate", mode, s.foregroundP99UsWithScrub, s.foregroundP99UsAlone,
            goal: 1.0, .reported,
            "fio 4K random reads QD1 on the volume: p99 \(Fmt.f1(s.foregroundP99UsWithScrub)) us beside a scrub (idle I/O class, no --rate; it read \(Fmt.f1(s.besideMibS)) MiB/s meanwhile)"
                + " / \(Fmt.f1(s.foregroundP99UsAlone)) us alone; IOPS \(Fmt.f0(s.foregroundIopsWithScrub)) / \(Fmt.f0(s.foregroundIopsAlone))")
    }
}
