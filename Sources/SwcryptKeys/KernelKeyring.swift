// The only file in swcrypt that talks to libkeyutils.
internal import CKeyutils
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Key bytes that are wiped when released. Never printed, never in a table.
public final class SecretBytes {
    public private(set) var bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.bytes.withUnsafeBytes { _ = mlock($0.baseAddress, $0.count) }
    }

    /// `count` bytes from the system CSPRNG (SystemRandomNumberGenerator is
    /// getrandom(2) on Linux).
    public static func random(count: Int) -> SecretBytes {
        var rng = SystemRandomNumberGenerator()
        return SecretBytes((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    public var count: Int { bytes.count }

    public func wipe() {
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            // explicit_bzero: not optimised away.
            explicit_bzero(base, raw.count)
            _ = munlock(base, raw.count)
        }
    }

    deinit { wipe() }
}

/// A `logon` key in the calling thread's keyring, referenced from a dm-crypt
/// table as `:<size>:logon:<description>`. dm-crypt looks the key up in the
/// keyrings of the process that loads the table, so it must be added by this
/// thread, before the load; once the table is loaded it can be unlinked.
public final class LogonKey {
    public let description: String
    public let size: Int
    private var serial: Int32
    private var linked = true

    /// Adds the key; the bytes are copied into the kernel and not kept here.
    public init(description: String, secret: SecretBytes) throws(SwcryptError) {
        self.description = description
        self.size = secret.count
        let serial = secret.bytes.withUnsafeBytes { raw in
            add_key("logon", description, raw.baseAddress, raw.count, KEY_SPEC_THREAD_KEYRING)
        }
        guard serial >= 0 else {
            throw SwcryptError(.failure, "cannot add the key to the kernel keyring",
                               operation: "add_key", cause: Errno(rawValue: errno).description)
        }
        self.serial = serial
    }

    /// The table's key argument.
    public var reference: KeyReference {
        .keyring(size: size, type: "logon", description: description)
    }

    /// Unlinks and invalidates the key; the mapping keeps its own copy.
    public func remove() {
        guard linked else { return }
        _ = keyctl_unlink(serial, KEY_SPEC_THREAD_KEYRING)
        _ = keyctl_invalidate(serial)
        linked = false
    }

    deinit { remove() }

    /// Whether a key with this description is reachable from this process's keyrings.
    public static func exists(description: String) -> Bool {
        for ring in [KEY_SPEC_THREAD_KEYRING, KEY_SPEC_PROCESS_KEYRING, KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING] {
            if keyctl_search(ring, "logon", description, 0) >= 0 { return true }
        }
        return false
    }
}
