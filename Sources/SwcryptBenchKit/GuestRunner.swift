import SwcryptCore
import SwcryptReports
import Foundation
import SwcryptSystem

/// The bench inside the test VM: for each configuration, fio measures sequential
/// 1 MiB writes and reads and 4 KiB random writes on a freshly opened mapping, and
/// the write amplification of each write job (sectors the namespace wrote, counted
/// until the mapping was closed, per sector fio wrote); formats are timed and read
/// back. Keeps forks few (TCG makes each one slow). Writes one run record.
public final class GuestRunner {
    public struct Options {
        public var mode: String
        public var output: String
        public var runtime: Int
        public var ramp: Int
        /// The device-bound cap in bytes/s (recorded, applied by QEMU); nil when CPU-bound.
        public var throttle: Int?
        /// Alternating openings of swcrypt's and cryptsetup's mapping of one volume.
        public var rounds: Int
        /// The release build, as the package installs it.
        public var swcrypt: String
        /// The reference cryptsetup (2.8); nil when there is none.
        public var cryptsetup: String?
        public var workDirectory = "/tmp/bench"

        public init(mode: String, output: String, runtime: Int, ramp: Int, throttle: Int?, rounds: Int,
                    swcrypt: String, cryptsetup: String?) {
            (self.mode, self.output, self.runtime, self.ramp) = (mode, output, runtime, ramp)
            (self.throttle, self.rounds, self.swcrypt, self.cryptsetup) = (throttle, rounds, swcrypt, cryptsetup)
        }
    }

    /// A configuration: how it is opened and closed.
    enum Config: String {
        case rawNs1 = "raw-ns1", rawNs2 = "raw-ns2", dmcryptXts = "dmcrypt-xts"
        case swAegis = "sw-aegis", swGcm = "sw-gcm", csAegis = "cs-aegis"
        case swJournal = "sw-journal", swNojournal = "sw-nojournal"

        var isRaw: Bool { self == .rawNs1 || self == .rawNs2 }
    }

    /// An opened configuration: the device fio uses and the namespace under it.
    struct Target {
        var device: String
        var namespace: String
    }

    static let noCryptsetup = "no reference cryptsetup (SWCRYPT_CRYPTSETUP)"
    static let passphraseOptions = ["--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32"]

    let options: Options
    let system: GuestSystem
    let start = ContinuousClock.now
    var ns1 = "", ns2 = ""
    var keyFile: String { "\(options.workDirectory)/passphrase" }
    var commandOutput: String { "\(options.workDirectory)/cmd.out" }
    /// The last failed command's error ("swcrypt open: <its last line> (exit 1)").
    var lastError = ""
    var rows: [Row] = []
    var inits: [InitEntry] = []
    var scrub: ScrubEntry?

    public init(options: Options, sysRoot: String = "/sys", procRoot: String = "/proc") {
        self.options = options
        self.system = GuestSystem(sysRoot: sysRoot, procRoot: procRoot)
    }

    var elapsed: Double { (ContinuousClock.now - start).inSeconds }

    func log(_ message: String) {
        FileHandle.standardError.write(Data("bench[\(options.mode) \(String(format: "%6.1f", elapsed))s] \(message)\n".utf8))
    }

    /// Runs a command with a timeout; on failure sets `lastError` and logs it.
    @discardableResult
    func run(_ argv: [String]) -> Bool {
        let status = Commands.run(argv, outputFile: commandOutput, timeout: 600)
        lastError = ""
        guard status != 0 else { return true }
        var line = Commands.lastLine(of: commandOutput)
        if line.isEmpty { line = "exit status \(status)" }
        let what = ([URL(fileURLWithPath: argv[0]).lastPathComponent] + (argv.count > 1 ? [argv[1]] : [""])).joined(separator: " ")
        lastError = "\(what): \(line) (exit \(status))"
        log("FAILED: \(argv.joined(separator: " ")): \(lastError)")
        return false
    }

    /// Runs the whole bench; 0 when it ran (a configuration that failed is a result), 1 when it could not start.
    public func runAll() -> Int32 {
        try? FileManager.default.createDirectory(atPath: options.workDirectory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: keyFile, contents: Data("swcrypt-bench-passphrase".utf8))
        let found = system.namespaces()
        guard let a = found[1], let b = found[2] else {
            FileHandle.standardError.write(Data("bench: the VM has no NVMe namespaces 1 and 2\n".utf8))
            return 1
        }
        (ns1, ns2) = (a, b)
        // The crypto drivers a real system loads: `modprobe aegis128` alone pins the
        // generic C driver (see KERNEL-FACTS); systemd-udev'd systems end up with the
        // SIMD ones, so load those first and let the generic one be the fallback.
        for module in ["aesni-intel", "ghash-clmulni-intel", "aegis128-aesni", "aegis128", "gcm", "dm-crypt", "dm-integrity"] {
            Modules().loadIfAvailable(module)
        }
        log("namespaces: nsid 1 = /dev/\(ns1) (\(system.metadataBytes(ns1).map(String.init) ?? "") metadata bytes), "
            + "nsid 2 = /dev/\(ns2); fio \(options.runtime)s per job")

        measureNamespace1()
        measureNamespace2()

        let record = recordJSON()
        do {
            try Data(record.compactText.utf8).write(to: URL(fileURLWithPath: options.output))
        } catch {
            FileHandle.standardError.write(Data("bench: cannot write \(options.output): \(error)\n".utf8))
            return 1
        }
        log("done")
        return 0
    }

    // MARK: - The configurations, in order

    /// nsid 1 (4096+64): raw, the ceiling, inline.
    func measureNamespace1() {
        row(.rawNs1, "raw namespace nsid 1", "4096+64, no mapping", ns1)
        row(.dmcryptXts, "dm-crypt aes-xts-plain64, no integrity (ceiling)", "swcrypt map crypt --integrity none", ns1)
        let inline = "LUKS2, tag+IV in the namespace metadata", same = "same LUKS2 header, cryptsetup's mapping"
        var pre = swFormat(.swAegis, ns1, "inline aegis128-random", ["--cipher", "aegis128-random"])
        if pre == nil, options.cryptsetup != nil {
            pairedRows((.swAegis, "swcrypt inline aegis128-random", inline),
                       (.csAegis, "cryptsetup open of the same aegis128 volume", same), ns1)
        } else {
            row(.swAegis, "swcrypt inline aegis128-random", inline, ns1, failure: pre)
            row(.csAegis, "cryptsetup open of the same aegis128 volume", same, ns1, failure: pre ?? Self.noCryptsetup)
        }
        measureScrub(.swAegis, failure: pre)
        pre = swFormat(.swGcm, ns1, "inline aes-gcm-random", ["--cipher", "aes-gcm-random"])
        row(.swGcm, "swcrypt inline aes-gcm-random", inline, ns1, failure: pre)
        if options.cryptsetup != nil {
            csFormat()
        } else {
            inits.append(InitEntry(id: "cs-luksformat", tool: "cryptsetup", layout: "inline aegis128-random", namespace: ns1,
                                   error: Self.noCryptsetup))
        }
    }

    /// nsid 2 (4096+0): raw, dm-integrity journal, bitmap (refused), no-journal.
    func measureNamespace2() {
        row(.rawNs2, "raw namespace nsid 2", "4096+0, no mapping", ns2)
        var pre = swFormat(.swJournal, ns2, "dm-integrity journal, aegis128-random",
                           ["--cipher", "aegis128-random", "--integrity-mode", "journal"])
        row(.swJournal, "swcrypt dm-integrity journal, aegis128-random", "LUKS2 over dm-integrity (J)", ns2, failure: pre)

        log("swcrypt format --integrity-mode bitmap (expected to be refused)")
        let (label, layout) = ("swcrypt dm-integrity bitmap", "LUKS2 over dm-integrity (B)")
        if run([options.swcrypt, "format", "/dev/\(ns2)", "--key-file", keyFile, "--yes", "--cipher", "aegis128-random",
                "--integrity-mode", "bitmap"] + Self.passphraseOptions) {
            rows.append(Row(id: "sw-bitmap", label: label, layout: layout, namespace: ns2, status: .error,
                            error: "swcrypt format --integrity-mode bitmap succeeded, but the kernel has no bitmap mode under dm-crypt: check what it built"))
            run([options.swcrypt, "close", "bench-vol"])
        } else {
            rows.append(Row(id: "sw-bitmap", label: label, layout: layout, namespace: ns2, status: .notApplicable,
                            reason: "not possible: the kernel accepts bitmap mode only with an internal hash (\"Bitmap mode can be only used with internal hash\"), "
                                + "never under dm-crypt; swcrypt refuses: \(Commands.lastLine(of: commandOutput))"))
        }

        pre = swFormat(.swNojournal, ns2, "dm-integrity no-journal, aegis128-random",
                       ["--cipher", "aegis128-random", "--integrity-mode", "no-journal"])
        row(.swNojournal, "swcrypt dm-integrity no-journal, aegis128-random", "LUKS2 over dm-integrity (D)", ns2, failure: pre)
    }

    // MARK: - Opening and closing

    func open(_ c: Config) -> Target? {
        let sw = options.swcrypt, cs = options.cryptsetup ?? ""
        switch c {
        case .rawNs1: return Target(device: "/dev/\(ns1)", namespace: ns1)
        case .rawNs2: return Target(device: "/dev/\(ns2)", namespace: ns2)
        case .dmcryptXts:
            let ok = run([sw, "map", "crypt", "bench-xts", "/dev/\(ns1)", "--cipher", "aes-xts-plain64", "--integrity", "none", "--random-key"])
            return ok ? Target(device: "/dev/mapper/bench-xts", namespace: ns1) : nil
        case .swAegis, .swGcm:
            return run([sw, "open", "/dev/\(ns1)", "bench-vol", "--key-file", keyFile]) ? Target(device: "/dev/mapper/bench-vol", namespace: ns1) : nil
        case .csAegis:
            return run([cs, "open", "--key-file", keyFile, "/dev/\(ns1)", "bench-vol"]) ? Target(device: "/dev/mapper/bench-vol", namespace: ns1) : nil
        case .swJournal, .swNojournal:
            return run([sw, "open", "/dev/\(ns2)", "bench-vol", "--key-file", keyFile]) ? Target(device: "/dev/mapper/bench-vol", namespace: ns2) : nil
        }
    }

    @discardableResult
    func close(_ c: Config) -> Bool {
        switch c {
        case .rawNs1, .rawNs2: return true
        case .dmcryptXts: return run([options.swcrypt, "unmap", "bench-xts"])
        case .csAegis: return run([options.cryptsetup ?? "", "close", "bench-vol"])
        default: return run([options.swcrypt, "close", "bench-vol"])
        }
    }

    // MARK: - Measuring

    /// A configuration's three jobs and its dm table.
    struct Measurement {
        var jobs: [FioJobKind: JobResult] = [:]
        var table: String?
    }

    /// The three jobs on two openings of a configuration, and its dm table.
    func measure(_ c: Config) -> Measurement {
        guard let target = open(c) else { return Measurement(jobs: [.seqWrite: JobResult(error: lastError)]) }
        let table = c.isRaw ? nil : dmTable(target.device)
        var jobs: [FioJobKind: JobResult] = [:]
        // Write amplification: the namespace's own counter from just before a write
        // job until its mapping is closed (closing flushes dm-integrity's journal and superblock).
        jobs[.seqWrite] = measureWrite(.seqWrite, target, closing: c)
        guard let again = open(c) else {
            jobs[.seqRead] = JobResult(error: lastError)
            jobs[.randWrite] = JobResult(error: lastError)
            return Measurement(jobs: jobs, table: table)
        }
        jobs[.seqRead] = result(.seqRead, fio(.seqRead, on: again.device), sectors: nil)
        jobs[.randWrite] = measureWrite(.randWrite, again, closing: c)
        return Measurement(jobs: jobs, table: table)
    }

    private func measureWrite(_ job: FioJobKind, _ target: Target, closing c: Config) -> JobResult {
        let before = system.sectorsWritten(target.namespace)
        var m = fio(job, on: target.device)
        if !close(c), m.error == nil { m.error = lastError }
        return result(job, m, sectors: system.sectorsWritten(target.namespace) - before)
    }

    private func result(_ job: FioJobKind, _ m: FioMeasurement, sectors: Int?) -> JobResult {
        var wa: Double?
        if let sectors, let bytes = m.bytes, bytes > 0 { wa = round6(Double(sectors) / (Double(bytes) / 512)) }
        if m.error == nil {
            log("  \(job.rawValue): \(String(format: "%.1f", m.mibS ?? 0)) MiB/s, \(String(format: "%.0f", m.iops ?? 0)) IOPS"
                + (wa.map { ", write amplification \(String(format: "%.3f", $0))" } ?? ""))
        }
        return JobResult(mibS: m.mibS, iops: m.iops, bytes: m.bytes, nsSectorsWritten: sectors, writeAmplification: wa, error: m.error)
    }

    /// One fio job on an open device.
    func fio(_ job: FioJobKind, on device: String) -> FioMeasurement {
        fio(job.rawValue, on: device, iodepth: 16, seconds: options.runtime + options.ramp,
            arguments: job.fioArguments(rampSeconds: options.ramp), isWrite: job.isWrite)
    }

    /// A fio job (direct I/O, libaio, time-based) with its own arguments.
    func fio(_ name: String, on device: String, iodepth: Int, seconds: Int, arguments: [String], isWrite: Bool) -> FioMeasurement {
        let json = "\(options.workDirectory)/fio.json", log = "\(options.workDirectory)/fio.err"
        try? FileManager.default.removeItem(atPath: json)
        let status = Commands.run(
            ["fio", "--name=\(name)", "--filename=\(device)", "--direct=1", "--ioengine=libaio", "--iodepth=\(iodepth)",
             "--time_based", "--runtime=\(options.runtime)"] + arguments + ["--output-format=json", "--output=\(json)"],
            outputFile: log, timeout: Double(seconds + 120))
        if status != 0 {
            let error = "fio \(name) on \(device): \(Commands.lastLine(of: log)) (exit \(status))"
            self.log("  FAILED: \(error)")
            return FioMeasurement(error: error)
        }
        guard let data = FileManager.default.contents(atPath: json), let out = try? FioOutput.decode(data), let j = out.jobs.first else {
            return FioMeasurement(error: "fio \(name): unreadable JSON output")
        }
        let d = isWrite ? j.write : j.read
        if j.error != 0 {
            return FioMeasurement(iops: d.iops, bytes: d.ioBytes,
                                  error: "fio \(name) on \(device): error \(j.error) \(Commands.lastLine(of: log))")
        }
        return FioMeasurement(mibS: round6(Double(d.bwBytes) / 1_048_576), iops: d.iops, bytes: d.ioBytes,
                              p99Us: d.clatNs?.percentile?["99.000000"].map { round6($0 / 1000) })
    }

    func dmTable(_ device: String) -> String? {
        let table = Commands.output(["dmsetup", "table", URL(fileURLWithPath: device).lastPathComponent])
        return table.isEmpty ? nil : table
    }

    // MARK: - Rows

    /// Measures a configuration (unless a precondition failed) and adds its row.
    func row(_ c: Config, _ label: String, _ layout: String, _ namespace: String, failure: String? = nil) {
        log(label)
        let m = failure == nil ? measure(c) : Measurement()
        addRow(c, label, layout, namespace, failure: failure, jobs: m.jobs, table: m.table)
    }

    func addRow(_ c: Config, _ label: String, _ layout: String, _ namespace: String, failure: String?,
                jobs: [FioJobKind: JobResult], table: String?) {
        let failed = failure != nil || jobs.values.contains { $0.error != nil }
        rows.append(Row(id: c.rawValue, label: label, layout: layout, namespace: namespace, status: failed ? .error : .ok,
                        error: failure, dmTable: table, jobs: jobs))
    }

    /// Two mappings of one volume (swcrypt's and cryptsetup's), measured in
    /// alternation, `rounds` openings each, so that drift in the VM (TCG run to run
    /// varies by a third) falls on both alike; each job's median is reported.
    func pairedRows(_ a: (Config, String, String), _ b: (Config, String, String), _ namespace: String) {
        var results: [[[FioJobKind: JobResult]]] = [[], []], tables: [String?] = [nil, nil]
        let rounds = options.rounds
        for r in 1...rounds {
            for (n, side) in [a, b].enumerated() {
                log("\(side.1) (round \(r) of \(rounds))")
                let m = measure(side.0)
                results[n].append(m.jobs)
                tables[n] = m.table
            }
        }
        for (n, side) in [a, b].enumerated() {
            addRow(side.0, "\(side.1) (median of \(rounds), alternating)", side.2, namespace, failure: nil,
                   jobs: Self.medians(results[n]), table: tables[n])
        }
    }

    /// Per job, the lower median of each number over the rounds; the first error
    /// instead when any round failed.
    static func medians(_ rounds: [[FioJobKind: JobResult]]) -> [FioJobKind: JobResult] {
        var out: [FioJobKind: JobResult] = [:]
        for job in FioJobKind.allCases {
            let xs = rounds.compactMap { $0[job] }
            guard !xs.isEmpty else { continue }
            if let error = xs.lazy.compactMap(\.error).first {
                out[job] = JobResult(error: error)
                continue
            }
            out[job] = JobResult(mibS: lowerMedian(xs.map(\.mibS)), iops: lowerMedian(xs.map(\.iops)),
                                 bytes: lowerMedian(xs.map(\.bytes)), nsSectorsWritten: lowerMedian(xs.map(\.nsSectorsWritten)),
                                 writeAmplification: lowerMedian(xs.map(\.writeAmplification)), samplesMibS: xs.map(\.mibS))
        }
        return out
    }

    static func lowerMedian<T: Comparable>(_ values: [T?]) -> T? {
        let sorted = values.compactMap { $0 }.sorted()
        return sorted.isEmpty ? nil : sorted[(sorted.count - 1) / 2]
    }

    // MARK: - The record

    func recordJSON() -> JSONValue {
        let sizeMib = system.sizeBytes("/dev/\(ns1)").map { Double($0) / 1_048_576 }
        return .object([
            ("mode", .string(options.mode)), ("throttle_bps", .number(options.throttle)),
            ("kernel", .string(GuestSystem.kernelRelease())), ("fio", .string(Commands.output(["fio", "--version"]))),
            ("cryptsetup", .string(options.cryptsetup.map { Commands.output([$0, "--version"]) } ?? "")),
            ("swcrypt", .string(Commands.output([options.swcrypt, "--version"]).split(separator: "\n").first.map(String.init) ?? "")),
            ("crypto_drivers", .string(system.cryptoDrivers())), ("vcpus", .int(GuestSystem.cpuCount())),
            ("namespaces", .object([("nsid1", .string(ns1)), ("nsid2", .string(ns2))])),
            ("namespace_mib", .number(sizeMib)),
            ("fio_job", .object([("runtime_s", .int(options.runtime)), ("read_ramp_s", .int(options.ramp)), ("iodepth", .int(16)),
                                 ("ioengine", .string("libaio")), ("direct", .bool(true))])),
            ("guest_seconds", .number(round6(elapsed))),
            ("rows", .array(rows.map(\.json))), ("init", .array(inits.map(\.json))), ("scrub", scrub?.json ?? .null),
        ])
    }
}
