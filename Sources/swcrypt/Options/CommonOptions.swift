import ArgumentParser
import SwcryptCore
import SwcryptKit

// Option groups shared by the commands, spelled as cryptsetup spells them: its
// users are ours, and a short flag must never mean something more dangerous
// than cryptsetup's same flag.

/// `--debug` and `-v/--verbose`, on every command.
struct GlobalOptions: ParsableArguments {
    @Flag(help: "Show libcryptsetup's and libdevmapper's log, and the kernel's lines, on stderr.")
    var debug = false

    @Flag(name: [.customShort("v"), .long], help: "Say more: the libraries' notes, and 'Command successful.' at the end (on stderr, so that stdout stays clean for --json).")
    var verbose = false

    /// Call first thing in `run()`.
    func apply() {
        Verbosity.verbose = verbose
        if debug { VolumeManager.setLibraryDebug(true) }
        let (debug, verbose) = (self.debug, self.verbose)
        Diagnostics.shared.setEcho { e in
            if debug {
                Output.note("debug: \(e.source): \(e.message)")
            } else if e.level == .warning && !e.source.hasPrefix("lib") {
                // swcrypt's own warnings always reach the admin; the libraries' only on request.
                Output.note("warning: \(e.message)")
            } else if verbose && e.level >= .info {
                Output.note("\(e.source): \(e.message)")
            }
        }
    }
}

/// What `--verbose` asked for, read by `Main` when a command succeeds.
enum Verbosity {
    nonisolated(unsafe) static var verbose = false
}

/// Skipping confirmations: cryptsetup's `-q/--batch-mode`; `--yes` stays as a long alias.
struct ConfirmOptions: ParsableArguments {
    @Flag(name: [.customShort("q"), .customLong("batch-mode"), .customLong("yes")],
          help: "Do not ask for confirmation (as cryptsetup's -q/--batch-mode; --yes is the same).")
    var batchMode = false
}

/// The passphrase of a LUKS2 volume.
struct PassphraseOptions: ParsableArguments {
    @Option(name: [.customShort("d"), .long],
            help: "Read the passphrase from FILE, all of it, as cryptsetup does ('-' for standard input). Without it, it is asked on the terminal.")
    var keyFile: String?

    @Flag(name: [.customShort("y"), .long],
          help: "Ask for the passphrase twice on a terminal (format does unless in batch mode, as cryptsetup).")
    var verifyPassphrase = false

    /// `verifyByDefault`: format asks twice unless in batch mode; open asks once.
    func source(verifyByDefault: Bool) -> PassphraseSource {
        keyFile.map { .file($0) } ?? .terminal(verify: verifyPassphrase || verifyByDefault)
    }
}

/// `-r/--readonly` (`--read-only`, swcrypt's earlier spelling, still accepted).
struct ReadOnlyOption: ParsableArguments {
    @Flag(name: [.customShort("r"), .customLong("readonly"), .customLong("read-only")],
          help: "Create the mapping read-only.")
    var readonly = false
}

/// dm-crypt's performance flags, spelled as cryptsetup's `--perf-*` options.
struct PerfOptions: ParsableArguments {
    @Flag(name: .customLong("perf-same_cpu_crypt"), help: "dm-crypt same_cpu_crypt: encrypt on the CPU that submitted the I/O.")
    var sameCPUCrypt = false
    @Flag(name: .customLong("perf-submit_from_crypt_cpus"), help: "dm-crypt submit_from_crypt_cpus.")
    var submitFromCryptCPUs = false
    @Flag(name: .customLong("perf-no_read_workqueue"), help: "dm-crypt no_read_workqueue: decrypt reads without the workqueue.")
    var noReadWorkqueue = false
    @Flag(name: .customLong("perf-no_write_workqueue"), help: "dm-crypt no_write_workqueue: encrypt writes without the workqueue.")
    var noWriteWorkqueue = false
    @Flag(name: .customLong("perf-high_priority"), help: "dm-crypt high_priority workqueues.")
    var highPriority = false

    var flags: PerformanceFlags {
        PerformanceFlags(sameCPUCrypt: sameCPUCrypt, submitFromCryptCPUs: submitFromCryptCPUs,
                         noReadWorkqueue: noReadWorkqueue, noWriteWorkqueue: noWriteWorkqueue, highPriority: highPriority)
    }
}
