import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports
#if canImport(Glibc)
import Glibc
#endif

struct Scrub: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read every block of an open volume and report the ones that fail authentication, with the files they belong to.",
        discussion: """
            Large direct reads through the mapping, in the idle I/O class; a failed read is narrowed down to the \
            single blocks. Blocks are attributed with FIEMAP over the mounted filesystem's files (ext4, XFS, others \
            with FIEMAP), and on ext4 to filesystem metadata or free space. Interrupted (Ctrl-C, SIGTERM, a reboot), \
            the next scrub of the volume goes on where it stopped (a checkpoint in /var/lib/swcrypt/scrub, by the \
            volume's UUID). Exit 0: every block read; 6: damaged blocks found; 1-5 as other commands: the scrub \
            could not run (1 also when interrupted).
            """)
    @Argument(help: "The volume: its mapping NAME, /dev/mapper/NAME, or the device it is open on.") var volume: String
    @Option(help: "Read at most this many MiB/s (default: as fast as the device gives, in the idle I/O class).")
    var rate: Double?
    @Flag(help: "Start from the beginning even when an interrupted scrub left a checkpoint.") var restart = false
    @Flag(help: "Rewrite damaged blocks that belong to no file and no filesystem structure (ext4 free space) with zeros, so that they read again. Blocks in files are never written.")
    var rewriteFree = false
    @Flag(help: "Read at normal I/O priority instead of the idle class.") var noIdle = false
    @Flag(help: "No progress line on the terminal.") var quiet = false
    @Flag(help: "Progress as JSON lines on stdout, as format's --progress-json (phase: scrub).") var progressJson = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let rate, rate <= 0 { throw ValidationError("--rate must be more than 0 MiB/s") }
        if json && progressJson { throw ValidationError("--json and --progress-json both write to stdout; choose one") }
    }

    func run() throws {
        global.apply()
        var r = ScrubRequest(target: volume)
        r.bytesPerSecond = rate.map { $0 * 1_048_576 }
        r.restart = restart
        r.rewriteFree = rewriteFree
        r.idle = !noIdle
        let showProgress = !quiet && !json && !progressJson && isatty(STDERR_FILENO) == 1
        let reporter: ((WipeProgress) -> Void)? = progressJson ? ProgressJSON(device: volume).report
            : showProgress ? { Output.prompt(ProgressOutput.terminalLine($0)) } : nil
        let result = try Scrubber().run(r, progress: reporter)
        if showProgress { Output.prompt("\n") }
        try Output.report(ScrubReport(result), json: json)
        if !result.completed {
            throw SwcryptError(.failure, device: volume, "interrupted; the next scrub goes on from byte \(result.position)")
        }
        if result.damagedBlocks > 0 { throw ExitCode(ExitStatus.damaged.rawValue) }
    }
}
