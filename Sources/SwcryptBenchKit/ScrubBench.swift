import SwcryptCore
import Foundation

/// `swcrypt scrub` measured on the inline aegis128 volume: its throughput against
/// the raw namespace's sequential read, how closely it keeps a --rate, and what it
/// costs a foreground reader (4 KiB random reads at queue depth 1, p99 latency)
/// when it runs beside it at the default rate (idle I/O class, no cap).
public struct ScrubEntry: Decodable, Sendable {
    public var volumeMib: Double?
    /// A full scrub: its own timing of the read, and the whole command by wall clock.
    public var seconds: Double?
    public var wallSeconds: Double?
    public var damagedBlocks: Int?
    /// A paced scrub (--rate), interrupted after a while: what it read and in what time.
    public var askedMibS: Double?
    public var pacedMib: Double?
    public var pacedSeconds: Double?
    /// The foreground reader alone, then with a scrub beside it.
    public var foregroundP99UsAlone: Double?
    public var foregroundP99UsWithScrub: Double?
    public var foregroundIopsAlone: Double?
    public var foregroundIopsWithScrub: Double?
    /// What the scrub read while the foreground reader ran.
    public var besideMib: Double?
    public var besideSeconds: Double?
    public var error: String?

    public var mibS: Double? { mibPerSecond(volumeMib, seconds) }
    public var pacedMibS: Double? { mibPerSecond(pacedMib, pacedSeconds) }
    public var besideMibS: Double? { mibPerSecond(besideMib, besideSeconds) }

    public var json: JSONValue {
        .object([
            ("volume_mib", .number(volumeMib)), ("seconds", .number(seconds)), ("wall_seconds", .number(wallSeconds)),
            ("damaged_blocks", .number(damagedBlocks)), ("asked_mib_s", .number(askedMibS)), ("paced_mib", .number(pacedMib)),
            ("paced_seconds", .number(pacedSeconds)), ("foreground_p99_us_alone", .number(foregroundP99UsAlone)),
            ("foreground_p99_us_with_scrub", .number(foregroundP99UsWithScrub)),
            ("foreground_iops_alone", .number(foregroundIopsAlone)), ("foreground_iops_with_scrub", .number(foregroundIopsWithScrub)),
            ("beside_mib", .number(besideMib)), ("beside_seconds", .number(besideSeconds)), ("error", .string(error)),
            ("mib_s", .number(mibS)), ("paced_mib_s", .number(pacedMibS)), ("beside_mib_s", .number(besideMibS)),
        ])
    }
}

extension GuestRunner {
    /// Seconds a paced scrub runs before it is interrupted.
    static let pacedSeconds = 15

    func measureScrub(_ c: Config, failure: String?) {
        var e = ScrubEntry()
        defer { scrub = e }
        if let failure { e.error = failure; return }
        log("swcrypt scrub of the inline aegis128 volume")
        guard let target = open(c) else { e.error = lastError; return }
        defer { close(c) }
        let name = URL(fileURLWithPath: target.device).lastPathComponent

        // 1. A whole scrub, as fast as it goes.
        let started = elapsed
        guard let full = scrubJSON([options.swcrypt, "scrub", name, "--restart", "--json"], interruptAfter: nil) else {
            e.error = lastError; return
        }
        e.wallSeconds = round6(elapsed - started)
        e.volumeMib = full.mib
        e.seconds = full.seconds
        e.damagedBlocks = full.damaged
        guard let mibS = e.mibS, full.completed else { e.error = "swcrypt scrub did not complete: \(lastError)"; return }
        log("  \(String(format: "%.1f", mibS)) MiB/s (its own timing), \(full.damaged) damaged blocks")

        // 2. Paced at half that (at most what reads a third of the volume in the
        //    time given), interrupted with SIGINT as an admin would.
        let asked = (max(1, min(mibS / 2, (full.mib ?? 0) / 3 / Double(Self.pacedSeconds))) * 10).rounded() / 10
        e.askedMibS = asked
        if let paced = scrubJSON([options.swcrypt, "scrub", name, "--restart", "--json", "--rate", String(asked)],
                                 interruptAfter: Self.pacedSeconds) {
            (e.pacedMib, e.pacedSeconds) = (paced.mib, paced.seconds)
            log("  --rate \(asked): \(String(format: "%.2f", e.pacedMibS ?? 0)) MiB/s")
        } else {
            e.error = lastError
        }

        // 3. The foreground reader alone, then beside a scrub at the default rate.
        let args = ["--rw=randread", "--bs=4k", "--norandommap", "--randrepeat=0"]
        let alone = fio("fg-randread", on: target.device, iodepth: 1, seconds: options.runtime, arguments: args, isWrite: false)
        (e.foregroundP99UsAlone, e.foregroundIopsAlone) = (alone.p99Us, alone.iops)
        if let error = alone.error { e.error = error; return }
        let out = "\(options.workDirectory)/scrub-beside.json"
        guard let scrubber = startBackground([options.swcrypt, "scrub", name, "--restart", "--json"], stdout: out) else {
            e.error = "could not start swcrypt scrub beside fio"; return
        }
        usleep(500_000)
        let beside = fio("fg-randread", on: target.device, iodepth: 1, seconds: options.runtime, arguments: args, isWrite: false)
        let besideResult = stop(scrubber, output: out)
        (e.foregroundP99UsWithScrub, e.foregroundIopsWithScrub) = (beside.p99Us, beside.iops)
        (e.besideMib, e.besideSeconds) = (besideResult?.mib, besideResult?.seconds)
        if let error = beside.error { e.error = error }
        log("  foreground 4K random read QD1 p99: \(Fmt.f1(alone.p99Us)) us alone, \(Fmt.f1(beside.p99Us)) us beside a scrub"
            + " (which read \(String(format: "%.1f", e.besideMibS ?? 0)) MiB/s meanwhile)")
    }

    /// What `swcrypt scrub --json` printed: MiB read (from where it started), its seconds.
    struct ScrubOutput {
        var mib: Double?
        var seconds: Double?
        var completed: Bool
        var damaged: Int
    }

    static func parseScrub(_ text: String) -> ScrubOutput? {
        guard let v = try? JSONValue(parsing: text), case .int(let position)? = v["position"] else { return nil }
        var resumed = 0
        if case .int(let r)? = v["resumed_at"] { resumed = r }
        var seconds: Double?
        switch v["seconds"] {
        case .double(let s)?: seconds = s
        case .int(let s)?: seconds = Double(s)
        default: break
        }
        var damaged = 0
        if case .int(let d)? = v["damaged_blocks"] { damaged = d }
        var completed = false
        if case .bool(let b)? = v["completed"] { completed = b }
        return ScrubOutput(mib: Double(position - resumed) / 1_048_576, seconds: seconds, completed: completed, damaged: damaged)
    }

    /// Runs a scrub (SIGINT after `interruptAfter` seconds when given) and reads its JSON.
    func scrubJSON(_ argv: [String], interruptAfter: Int?) -> ScrubOutput? {
        let out = "\(options.workDirectory)/scrub.json"
        guard let p = startBackground(argv, stdout: out) else { lastError = "\(argv[0]) could not start"; return nil }
        if let interruptAfter {
            for _ in 0..<(interruptAfter * 10) where p.isRunning { usleep(100_000) }
            return stop(p, output: out)
        }
        for _ in 0..<6000 where p.isRunning { usleep(100_000) }
        return stop(p, output: out)
    }

    func startBackground(_ argv: [String], stdout: String) -> Process? {
        _ = FileManager.default.createFile(atPath: stdout, contents: nil)
        _ = FileManager.default.createFile(atPath: commandOutput, contents: nil)
        guard let out = FileHandle(forWritingAtPath: stdout), let err = FileHandle(forWritingAtPath: commandOutput) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return nil }
        return p
    }

    /// SIGINT (a scrub saves its checkpoint and prints how far it got), then its JSON.
    func stop(_ p: Process, output: String) -> ScrubOutput? {
        if p.isRunning { p.interrupt() }
        for _ in 0..<300 where p.isRunning { usleep(100_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        let text = FileManager.default.contents(atPath: output).map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard let parsed = Self.parseScrub(text) else {
            lastError = "swcrypt scrub: \(Commands.lastLine(of: commandOutput)) (exit \(p.terminationStatus))"
            log("FAILED: \(lastError)")
            return nil
        }
        return parsed
    }
}
