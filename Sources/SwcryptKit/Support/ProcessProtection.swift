import SwcryptSystem
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide protection for the secrets swcrypt handles.
public enum Secrets {
    /// Called first thing. No core dumps at all: swcrypt's own copies of keys
    /// and passphrases are in pages left out of dumps (SecretBytes), but the
    /// volume key and passphrase copies libcryptsetup holds during format and
    /// open are in its ordinary heap, which only the core limit keeps out.
    /// And no crash report from the Swift runtime's backtracer, whose register
    /// dump prints 16 bytes of memory at every register, a key buffer included
    /// when one is being read or used. A fatal signal ends swcrypt with exit
    /// status 128+N and one line instead (its default action would dump core,
    /// and a pipe core_pattern such as systemd-coredump or apport ignores the
    /// core limit), and the process is not dumpable (PR_SET_DUMPABLE 0).
    /// SWCRYPT_CRASH_REPORT=1 in the environment (for debugging swcrypt itself)
    /// keeps the backtracer and dumpability.
    public static func protectProcess() {
        Privileges.forbidCoreDumps()
        // A write to a closed pipe or socket fails with EPIPE instead of killing
        // swcrypt half-way through an operation.
        signal(SIGPIPE, SIG_IGN)
        // SWCRYPT_CRASH_REPORT=1 (for debugging swcrypt itself, never in
        // production) keeps the runtime's crash report, which needs the process
        // to stay dumpable for its helper to read it.
        if getenv("SWCRYPT_CRASH_REPORT").map({ String(cString: $0) }) != "1" {
            _ = Privileges.exitOnFatalSignals()
            _ = Privileges.forbidDumping()
        }
    }
}
