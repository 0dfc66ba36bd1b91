import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT (Ctrl-C), SIGTERM or SIGHUP (a dropped ssh session) while a
/// long operation runs; the operation stops at its next step and cleans up.
public enum Interrupt {
    static let flag = Atomic<Bool>(false)
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    public static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Installs handlers that only set the flag (the operation checks it).
    public static func install() {
        flag.store(false, ordering: .relaxed)
        for s in signals { signal(s) { _ in Interrupt.flag.store(true, ordering: .relaxed) } }
    }

    public static func restore() {
        for s in signals { signal(s, SIG_DFL) }
    }
}
