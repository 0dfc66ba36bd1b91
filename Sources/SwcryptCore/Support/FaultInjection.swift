#if canImport(Glibc)
import Glibc
#endif

/// Test hook for rollback tests: with SWCRYPT_INJECT_FAULT=<point> in the
/// environment, the step named <point> fails as if the kernel had refused it,
/// so tests can check that every step's failure leaves nothing behind. Points:
/// `map.create.<N>` (before creating layer N of a stack, 0 = bottom),
/// `format.header` (after the LUKS2 header is written), `format.activate` (after
/// the initialisation mapping is created), `format.wipe` (after the tags are
/// written, before the read-back). Unset (always, outside tests): no effect.
/// Debug builds only (SWCRYPT_FAULT_INJECTION, set by Package.swift for the
/// debug configuration).
public enum FaultInjection {
    static let variable = "SWCRYPT_INJECT_FAULT"

    /// Compiled only into debug (test) builds: the release build, which the
    /// package ships, has no hook and ignores the variable.
    public static func check(_ point: String, device: String) throws(SwcryptError) {
        #if SWCRYPT_FAULT_INJECTION
        guard let value = getenv(variable), String(cString: value) == point else { return }
        throw SwcryptError(.failure, device: device, "failure injected at step '\(point)' (\(variable))")
        #endif
    }
}
