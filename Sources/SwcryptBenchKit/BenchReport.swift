import SwcryptCore
import SwcryptReports
import Foundation

/// The benchmark's report from recorded runs: one Markdown table per mode, the
/// initialisation table, the targets with PASS/MISS, the failures, and all of it
/// as JSON (the runs as recorded, the targets, the errors).
public struct BenchReport {
    /// A run as recorded (passed through to the JSON unchanged) and as read.
    public struct Input {
        public var raw: JSONValue
        public var record: RunRecord

        public init(data: Data) throws {
            raw = try JSONValue(parsing: data)
            record = try RunRecord.decode(data)
        }
    }

    public var markdown: String
    public var json: JSONValue
    public var errors: [String]

    /// What `Scripts/bench` prints: the Markdown, then the JSON in a fenced block.
    public var printed: String { markdown + "\n\n```json\n" + json.indentedText + "\n```\n" }

    /// - Parameters:
    ///   - runs: the recorded runs; a later run of the same mode replaces an earlier one.
    ///   - revision: the code measured (`git rev-parse --short HEAD`, "+dirty").
    ///   - totalSeconds: the whole bench by wall clock; 0 = the sum of the runs' boots.
    ///   - date: the report's time, "YYYY-MM-DD HH:MM".
    public init(runs inputs: [Input], revision: String, totalSeconds: Int, date: String) {
        var raws: [(String, JSONValue)] = []
        var runs: [String: RunRecord] = [:]
        for input in inputs {
            let mode = input.record.mode
            if let i = raws.firstIndex(where: { $0.0 == mode }) { raws[i].1 = input.raw } else { raws.append((mode, input.raw)) }
            runs[mode] = input.record
        }
        let total = totalSeconds != 0 ? totalSeconds
            : raws.compactMap { runs[$0.0]?.wallSeconds }.reduce(0, +)

        var md = ["# swcrypt benchmark (\(date), swcrypt \(revision))", ""]
        var errors: [String] = []
        for mode in Mode.allCases {
            guard let run = runs[mode.rawValue] else { continue }
            md += Self.modeSection(mode, run, errors: &errors)
        }
        let targets = Targets(runs: runs).ratios
        md += ["## Targets (ratios from this run)", "", "| target | mode | measured | result | how |", "|---|---|---:|---|---|"]
        for t in targets { md.append("| \(t.target) | \(t.mode) | \(t.measuredText) | \(t.result) | \(t.detail) |") }
        md.append("")
        if !errors.isEmpty {
            md += ["## Failures", ""] + errors.map { "- \($0)" } + [""]
        }
        md.append("Total time \(total / 60) min \(total % 60) s.")

        self.markdown = md.joined(separator: "\n")
        self.errors = errors
        self.json = .object([
            ("swcrypt", .string(revision)), ("total_seconds", .int(total)), ("runs", .object(raws)),
            ("targets", .array(targets.map(\.json))), ("errors", .array(errors.map(JSONValue.string))),
        ])
    }

    public enum Mode: String, CaseIterable {
        case cpu, device

        var title: String {
            switch self {
            case .cpu: return "CPU-bound"
            case .device: return "device-bound"
            }
        }
    }

    private static func modeSection(_ mode: Mode, _ run: RunRecord, errors: inout [String]) -> [String] {
        var md: [String] = []
        switch mode {
        case .cpu: md.append("## CPU-bound (no cap on the namespaces)")
        case .device:
            let cap = run.throttleBps.flatMap { $0 != 0 ? Fmt.g(Double($0) / 1_048_576) : nil } ?? "?"
            md.append("## Device-bound (each namespace capped at \(cap) MiB/s, QEMU throttling.bps-total)")
        }
        md.append("")
        if let failure = run.error, !failure.isEmpty {
            errors.append("\(mode.rawValue): \(failure)")
            return md + ["**FAILED: \(failure)**", ""]
        }
        md.append(header(run))
        md.append("")
        md += rowTable(mode, run, errors: &errors)
        md.append("")
        md += initTable(mode, run, errors: &errors)
        md.append("")
        if let s = run.scrub {
            md += scrubTable(mode, s, errors: &errors)
            md.append("")
        }
        return md
    }

    private static func header(_ run: RunRecord) -> String {
        let fj = run.fioJob
        let any = { (x: Any?) in x.map { "\($0)" } ?? "?" }
        var text = "One VM boot (\(any(run.wallSeconds)) s), kernel \(any(run.kernel)), \(any(run.vcpus)) vCPUs (TCG), "
            + "\(run.namespaceMib.map(Fmt.g) ?? "?") MiB namespaces; "
            + "\(any(run.fio)) direct I/O, \(any(fj?.ioengine)), queue depth \(any(fj?.iodepth)), \(any(fj?.runtimeS)) s per job "
            + "(reads after \(any(fj?.readRampS)) s ramp). "
            + "WA = sectors the namespace wrote (/sys/block/{ns}/stat field 7, counted until the mapping was closed) / sectors fio wrote."
        if let others = run.otherQemuProcessesAtStart, others != 0 {
            text += " Note: \(others) other QEMU process(es) were running when this boot started; numbers may be disturbed."
        }
        return text
    }

    private static func rowTable(_ mode: Mode, _ run: RunRecord, errors: inout [String]) -> [String] {
        var md = [
            "| configuration | namespace | seq write 1M (MiB/s) | seq read 1M (MiB/s) | rand write 4K (IOPS) | WA seq write | WA rand write | |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for r in run.rows {
            let ns = "\(r.namespace) (\(r.layout))"
            if r.status == .notApplicable {
                md.append("| \(r.label) | \(ns) | n/a | n/a | n/a | n/a | n/a | \(r.reason ?? "None") |")
                continue
            }
            if r.status == .error, let failure = r.error, !failure.isEmpty {
                md.append("| \(r.label) | \(ns) | ERROR | ERROR | ERROR | | | **\(failure)** |")
                errors.append("\(mode.rawValue)/\(r.id): \(failure)")
                continue
            }
            var cells: [String] = [], notes: [String] = []
            for job in FioJobKind.allCases {
                let x = r[job]
                if let failure = x?.failure {
                    cells.append("ERROR")
                    notes.append("**\(job.rawValue): \(failure)**")
                    errors.append("\(mode.rawValue)/\(r.id)/\(job.rawValue): \(failure)")
                } else if job == .randWrite {
                    cells.append("\(Fmt.f0(x?.iops)) (\(Fmt.f1(x?.mibS)) MiB/s)")
                } else {
                    cells.append(Fmt.f1(x?.mibS))
                }
            }
            cells.append(Fmt.f3(r.seqWrite?.writeAmplification))
            cells.append(Fmt.f3(r.randWrite?.writeAmplification))
            md.append("| \(r.label) | \(ns) | " + cells.joined(separator: " | ") + " | " + notes.joined(separator: "; ") + " |")
        }
        return md
    }

    private static func initTable(_ mode: Mode, _ run: RunRecord, errors: inout [String]) -> [String] {
        var md = [
            "Initialisation (every sector written once through the mapping; MiB = data area; wall s = the whole command, "
                + "header and key slot included; namespace WA = sectors the namespace wrote during the command / data sectors; "
                + "then every MiB is read back through the mapping):",
            "",
            "| initialisation | namespace | MiB | wall s | MiB/s (wall clock) | MiB/s (the tool's own timing of its wipe) | namespace WA | MiB unreadable afterwards | |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for i in run.inits {
            let who = i.tool == "swcrypt" ? "swcrypt format" : "cryptsetup luksFormat"
            var notes: [String] = []
            if let failure = i.error, !failure.isEmpty {
                notes.append("**\(failure)**")
                errors.append("\(mode.rawValue)/init \(i.id): \(failure)")
            }
            if let bad = i.unreadableMibAfter, bad != 0 {
                let msg = "\(who) (\(i.layout)) left \(bad) of \(Fmt.f0(i.mib)) MiB unreadable (authentication fails: sectors without a valid tag)"
                notes.append("**\(msg)**")
                errors.append("\(mode.rawValue)/init \(i.id): \(msg)")
            }
            let cells = [
                "\(who), \(i.layout)", i.namespace, Fmt.f1(i.mib), Fmt.f1(i.seconds), Fmt.f1(i.mibS), Fmt.f1(i.reportedMibS),
                Fmt.f3(i.writeAmplification), i.unreadableMibAfter.map(String.init) ?? Fmt.none, notes.joined(separator: "; "),
            ]
            md.append("| " + cells.joined(separator: " | ") + " |")
        }
        return md
    }
}

extension BenchReport {
    static func scrubTable(_ mode: Mode, _ s: ScrubEntry, errors: inout [String]) -> [String] {
        var md = [
            "Scrub of the inline aegis128 volume (swcrypt scrub: 4 MiB direct reads through the mapping, idle I/O class; "
                + "the paced run is interrupted with SIGINT after \(GuestRunner.pacedSeconds) s; the foreground reader is fio 4K random reads at QD 1):",
            "",
            "| MiB | s | MiB/s | damaged blocks | --rate asked (MiB/s) | --rate read (MiB/s) | foreground p99 alone (us) | p99 beside a scrub (us) | foreground IOPS alone / beside | scrub MiB/s beside | |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
        ]
        var note = ""
        if let failure = s.error, !failure.isEmpty {
            note = "**\(failure)**"
            errors.append("\(mode.rawValue)/scrub: \(failure)")
        }
        let cells = [Fmt.f1(s.volumeMib), Fmt.f1(s.seconds), Fmt.f1(s.mibS), s.damagedBlocks.map(String.init) ?? Fmt.none,
                     Fmt.f1(s.askedMibS), Fmt.f2(s.pacedMibS), Fmt.f1(s.foregroundP99UsAlone), Fmt.f1(s.foregroundP99UsWithScrub),
                     "\(Fmt.f0(s.foregroundIopsAlone)) / \(Fmt.f0(s.foregroundIopsWithScrub))", Fmt.f1(s.besideMibS), note]
        md.append("| " + cells.joined(separator: " | ") + " |")
        return md
    }
}

/// The number formats of the report ("—" for a number not measured).
enum Fmt {
    static let none = "—"
    static func f0(_ x: Double?) -> String { x.map { String(format: "%.0f", $0) } ?? none }
    static func f1(_ x: Double?) -> String { x.map { String(format: "%.1f", $0) } ?? none }
    static func f2(_ x: Double) -> String { String(format: "%.2f", x) }
    static func f2(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? none }
    static func f3(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? none }
    /// Python's and C's `%g`: six significant digits, no trailing zeros.
    static func g(_ x: Double) -> String { String(format: "%g", x) }
}

extension BenchReport {
    /// The local time as the report's title shows it.
    public static func now() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: Date())
    }
}
