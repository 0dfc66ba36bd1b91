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

    @Option(name: [.customShort("l"), .long], help: "Read at most this many bytes of the key file (cryptsetup's --keyfile-size).")
    var keyfileSize: Int?

    @Option(help: "Skip this many bytes at the start of the key file.")
    var keyfileOffset: UInt64 = 0

    @Flag(name: [.customShort("y"), .long],
          help: "Ask for the passphrase twice on a terminal (format does unless in batch mode, as cryptsetup).")
    var verifyPassphrase = false

    /// `verifyByDefault`: format asks twice unless in batch mode; open asks once.
    func source(verifyByDefault: Bool) -> PassphraseSource {
        PassphraseSource(file: keyFile, range: KeyFileRange(offset: keyfileOffset, size: keyfileSize),
                         verify: verifyPassphrase || verifyByDefault)
    }

    func validate() throws {
        if keyFile == nil && (keyfileSize != nil || keyfileOffset != 0) {
            throw ValidationError("--keyfile-size and --keyfile-offset apply to --key-file")
        }
        if let keyfileSize, keyfileSize <= 0 { throw ValidationError("--keyfile-size must be at least 1") }
    }
}

/// The passphrase a key operation adds (`key add`, `key change`): --new-key-file
/// with its own size and offset, or asked twice on the terminal.
struct NewPassphraseOptions: ParsableArguments {
    @Option(help: "Read the new passphrase from FILE ('-' for standard input); without it, it is asked twice on the terminal.")
    var newKeyFile: String?

    @Option(help: "Read at most this many bytes of the new key file.")
    var newKeyfileSize: Int?

    @Option(help: "Skip this many bytes at the start of the new key file.")
    var newKeyfileOffset: UInt64 = 0

    var source: PassphraseSource {
        PassphraseSource(file: newKeyFile, range: KeyFileRange(offset: newKeyfileOffset, size: newKeyfileSize), verify: true)
    }

    func validate() throws {
        if newKeyFile == nil && (newKeyfileSize != nil || newKeyfileOffset != 0) {
            throw ValidationError("--new-keyfile-size and --new-keyfile-offset apply to --new-key-file")
        }
        if let newKeyfileSize, newKeyfileSize <= 0 { throw ValidationError("--new-keyfile-size must be at least 1") }
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

/// How new keyslots stretch their passphrase, as cryptsetup spells it.
struct PBKDFOptions: ParsableArguments {
    @Option(help: "PBKDF: argon2id (default), argon2i, pbkdf2.") var pbkdf = "argon2id"
    @Option(name: [.customShort("i"), .long], help: "PBKDF time in milliseconds.") var iterTime: UInt32?
    @Option(help: "PBKDF memory in KiB (argon2).") var pbkdfMemory: UInt32?
    @Option(help: "Fixed PBKDF iterations, no benchmark (tests).") var pbkdfForceIterations: UInt32?

    var choice: PBKDFChoice {
        var c = PBKDFChoice()
        c.type = pbkdf
        c.iterationTimeMs = iterTime
        c.memoryKiB = pbkdfMemory
        c.forcedIterations = pbkdfForceIterations
        return c
    }
}
