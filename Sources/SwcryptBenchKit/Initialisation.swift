import SwcryptCore
import SwcryptReports
import Foundation

/// Timed formats: swcrypt format against cryptsetup luksFormat --integrity-inline
/// (which wipes too) on the same namespace; each tool's own timing of its wipe is
/// recorded beside the wall clock, and every MiB is read back afterwards.
extension GuestRunner {
    /// Formats with swcrypt and records the initialisation. Returns nil when the
    /// volume is there to be measured, else the row's error ("format failed: ...").
    func swFormat(_ c: Config, _ namespace: String, _ layout: String, _ arguments: [String]) -> String? {
        log("swcrypt format /dev/\(namespace) \(arguments.joined(separator: " "))")
        let before = system.sectorsWritten(namespace), started = elapsed
        let ok = run([options.swcrypt, "format", "/dev/\(namespace)", "--key-file", keyFile, "--yes"] + Self.passphraseOptions + arguments)
        let seconds = round6(elapsed - started), written = system.sectorsWritten(namespace) - before
        var failure: String? = ok ? nil : lastError, error = failure
        var reported: (mib: Double, seconds: Double, text: String)?, readBack: (bytes: Int?, unreadable: Int?)?
        if ok {
            reported = Self.swcryptReport(Commands.lines(of: commandOutput))
            if reported == nil { error = "swcrypt format printed no 'initialised X MiB in S s' line" }
            log("  initialised \(reported?.text ?? "") (swcrypt's report), \(String(format: "%.1f", seconds)) s for the whole command")
            readBack = readBackVolume(c)
            if readBack == nil {
                error = "opening the new volume failed: \(lastError)"
                failure = lastError
            }
        }
        inits.append(InitEntry(id: c.rawValue, tool: "swcrypt", layout: layout, namespace: namespace, seconds: seconds,
                               mib: Self.mib(readBack?.bytes), reportedMib: reported?.mib, reportedSeconds: reported?.seconds,
                               nsSectorsWritten: written, unreadableMibAfter: readBack?.unreadable, error: error))
        return failure.map { "format failed: \($0)" }
    }

    /// Opens a new volume, reads all of it back and closes it; nil when it did not open.
    private func readBackVolume(_ c: Config) -> (bytes: Int?, unreadable: Int?)? {
        guard let target = open(c) else { return nil }
        defer { close(c) }
        return (system.sizeBytes(target.device), readBack(target.device))
    }

    /// swcrypt format's own timing: the last "initialised X MiB in S s" line (GiB in MiB).
    static func swcryptReport(_ lines: [String]) -> (mib: Double, seconds: Double, text: String)? {
        var found: (mib: Double, seconds: Double, text: String)?
        for line in lines {
            guard let m = line.firstMatch(of: #/initialised ([0-9.]+) (MiB|GiB) in ([0-9.]+) s/#),
                  let amount = Double(m.1), let seconds = Double(m.3) else { continue }
            let mib = m.2 == "GiB" ? round6(amount * 1024) : amount
            found = (mib, seconds, "\(m.2 == "GiB" ? String(format: "%.6f", mib) : String(m.1)) MiB in \(m.3) s")
        }
        return found
    }

    /// luksFormat --integrity-inline aegis128 on nsid 1, timed, then read back.
    func csFormat() {
        let cs = options.cryptsetup ?? ""
        log("cryptsetup luksFormat --integrity-inline /dev/\(ns1)")
        let before = system.sectorsWritten(ns1), started = elapsed
        let ok = run([cs, "luksFormat", "--batch-mode", "--type", "luks2", "--integrity-inline", "--integrity", "aead",
                      "-c", "aegis128-random", "--key-size", "128", "--sector-size", "4096"] + Self.passphraseOptions
                     + ["--progress-json", "--key-file", keyFile, "/dev/\(ns1)"])
        let seconds = round6(elapsed - started), written = system.sectorsWritten(ns1) - before
        var error: String? = ok ? nil : lastError
        // cryptsetup's own timing of its wipe: the last --progress-json line.
        let progress = Commands.lines(of: commandOutput).filter { $0.hasPrefix("{\"device\"") }
            .compactMap { try? JSONDecoder().decode(CryptsetupProgress.self, from: Data($0.utf8)) }.last
        let reportedMib = progress.flatMap { Double($0.deviceBytes) }.map { $0 / 1_048_576 }
        let reportedSeconds = progress.flatMap { Double($0.timeMs) }.map { $0 / 1000 }
        var bytes: Int?, unreadable: Int?
        if ok {
            log("  wiped \(reportedMib.map(Self.plain) ?? "") MiB in \(reportedSeconds.map(Self.plain) ?? "") s "
                + "(cryptsetup's --progress-json), \(String(format: "%.1f", seconds)) s for the whole command")
            if run([cs, "open", "--key-file", keyFile, "/dev/\(ns1)", "bench-cs"]) {
                bytes = system.sizeBytes("/dev/mapper/bench-cs")
                unreadable = readBack("/dev/mapper/bench-cs")
                run([cs, "close", "bench-cs"])
            } else {
                error = lastError
            }
        }
        inits.append(InitEntry(id: "cs-luksformat", tool: "cryptsetup", layout: "inline aegis128-random (luksFormat --integrity-inline, wipes)",
                               namespace: ns1, seconds: seconds, mib: Self.mib(bytes), reportedMib: reportedMib,
                               reportedSeconds: reportedSeconds, nsSectorsWritten: written, unreadableMibAfter: unreadable, error: error))
    }

    /// The data area in MiB.
    static func mib(_ bytes: Int?) -> Double? { bytes.map { Double($0) / 1_048_576 } }

    /// A number as jq prints it (488, 1.807).
    static func plain(_ x: Double) -> String { JSONValue.number(x).compactText }

    /// Reads all of an open device (1 MiB direct reads, errors counted, not fatal):
    /// the MiB that failed, nil when fio could not say.
    func readBack(_ device: String) -> Int? {
        let json = "\(options.workDirectory)/verify.json", errors = "\(options.workDirectory)/verify.err"
        try? FileManager.default.removeItem(atPath: json)
        _ = Commands.run(["fio", "--name=verify", "--filename=\(device)", "--direct=1", "--ioengine=libaio", "--iodepth=16",
                          "--rw=read", "--bs=1M", "--continue_on_error=read", "--output-format=json", "--output=\(json)"],
                         outputFile: errors, timeout: 1200)
        guard let data = FileManager.default.contents(atPath: json), let unreadable = (try? FioOutput.decode(data))?.jobs.first?.totalErr else {
            log("  verify read failed: \(Commands.lastLine(of: errors))")
            return nil
        }
        if unreadable > 0 {
            log("  READ BACK: \(unreadable) of \((system.sizeBytes(device) ?? 0) >> 20) MiB unreadable after initialisation")
        } else {
            log("  read back: every MiB readable")
        }
        return unreadable
    }
}

/// One line of `cryptsetup --progress-json`.
struct CryptsetupProgress: Decodable {
    var deviceBytes: String
    var timeMs: String

    enum CodingKeys: String, CodingKey {
        case deviceBytes = "device_bytes"
        case timeMs = "time_ms"
    }
}
