import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Watch: ParsableCommand {
    enum Destination: String, ExpressibleByArgument, CaseIterable {
        case auto, json, journal
    }

    static let configuration = CommandConfiguration(
        abstract: "Follow the kernel log for reads that failed authentication or hit a media error, and report each with its volume.",
        discussion: """
            Reads /dev/kmsg from where the last watch in this boot stopped (the first start in a boot: from now on, \
            or with --since-boot from the oldest line still in the ring buffer) and attributes dm-crypt's INTEGRITY AEAD/HMAC ERROR, dm-integrity's checksum failures and \
            NVMe media errors (status code type 2) to the open LUKS2 volume they belong to. Each failed read is one \
            event: repeats of the same volume, kind and sector within --window seconds are dropped. Events go to \
            stdout as JSON lines, or, when stdout is the journal (a systemd service), as journal entries with \
            SWCRYPT_VOLUME, SWCRYPT_UUID, SWCRYPT_DEVICE, SWCRYPT_SECTOR and SWCRYPT_KIND fields. Counters per \
            volume persist in /var/lib/swcrypt/watch/counters.json (swcrypt status shows them) and, with --textfile, \
            in a Prometheus textfile-collector file. Runs until SIGINT or SIGTERM; exit 0 then.
            """)

    @Option(help: ArgumentHelp("Also write the counters to this Prometheus textfile-collector file (node_exporter), e.g. /var/lib/prometheus/node-exporter/swcrypt.prom.", valueName: "file"))
    var textfile: String?
    @Option(help: "Where events go: json (lines on stdout), journal (structured entries), auto (journal when stdout is the journal).")
    var output: Destination = .auto
    @Option(help: "Kernel lines for the same volume, kind and sector within this many seconds are one failed read.")
    var window: Double = 10
    @Flag(help: "On the first start in a boot, also count the failures still in the kernel's ring buffer (attributed by today's device names: a dm-N name reused since the line was logged is attributed to the volume that has it now).")
    var sinceBoot = false
    @Option(help: ArgumentHelp("Where the counters are kept.", valueName: "directory"))
    var stateDirectory = WatchRequest().stateDirectory
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if window < 0 { throw ValidationError("--window must be 0 or more seconds") }
        if let textfile, !textfile.hasSuffix(".prom") {
            throw ValidationError("--textfile \(textfile): node_exporter's textfile collector reads only files ending in .prom")
        }
    }

    func run() throws {
        global.apply()
        var r = WatchRequest()
        r.textfile = textfile
        r.window = window
        r.stateDirectory = stateDirectory
        r.sinceBoot = sinceBoot
        let toJournal = output == .journal || (output == .auto && Watcher.standardOutputIsJournal)
        try Watcher().run(r, started: { counters, volumes in
            let names = volumes.map(\.name).sorted()
            Output.note("swcrypt watch: \(names.count) open LUKS2 volume\(names.count == 1 ? "" : "s")\(names.isEmpty ? "" : " (\(names.joined(separator: ", ")))"); events as \(toJournal ? "journal entries" : "JSON lines on stdout"); counters in \(r.countersPath)\(textfile.map { " and \($0)" } ?? "")")
        }, publish: PrometheusTextfile.render, event: { e in
            let report = WatchEventReport(e)
            if toJournal {
                do throws(SwcryptError) { try Watcher.journal(report.journalFields) } catch {
                    Output.error(error.description)
                    Output.note(report.message)
                }
            } else if let line = try? JSONText.line(report) {
                Output.stdout(line)
            }
        })
    }
}
