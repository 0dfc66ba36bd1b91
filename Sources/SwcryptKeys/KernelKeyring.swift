// The only file in swcrypt that talks to libkeyutils.
internal import CKeyutils
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Key or passphrase bytes in memory of their own: whole pages from mmap(2),
/// locked so they are never swapped (mlock; best effort, as libcryptsetup's
/// safe allocations), left out of core dumps (MADV_DONTDUMP) and out of forked
/// children (MADV_DONTFORK), wiped with explicit_bzero and unmapped when
/// released. Readers fill it in place (`append`, `read(from:)`), so no other
/// copy of the secret is made on the way in. Never printed, never in a table.
public final class SecretBytes {
    private var region: UnsafeMutableRawBufferPointer
    public private(set) var count: Int

    /// An empty secret with room for `capacity` bytes (it grows when needed).
    public init(capacity: Int = 0) {
        region = Self.allocate(capacity)
        count = 0
    }

    /// A copy of `bytes` (the caller wipes its own copy).
    public convenience init(copying bytes: some Collection<UInt8>) {
        self.init(capacity: bytes.count)
        for b in bytes { append(b) }
    }

    /// `count` bytes from the system CSPRNG (SystemRandomNumberGenerator is
    /// getrandom(2) on Linux), written in place.
    public static func random(count: Int) -> SecretBytes {
        let s = SecretBytes(capacity: count)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<count { s.append(rng.next()) }
        return s
    }

    /// Pages for `bytes` (at least one), locked and excluded from dumps and forks.
    private static func allocate(_ bytes: Int) -> UnsafeMutableRawBufferPointer {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = max(page, (bytes + page - 1) / page * page)
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("cannot map \(size) bytes for a secret: errno \(errno)")
        }
        _ = mlock(p, size)
        _ = madvise(p, size, MADV_DONTDUMP)
        _ = madvise(p, size, MADV_DONTFORK)
        return UnsafeMutableRawBufferPointer(start: p, count: size)
    }

    private static func release(_ region: UnsafeMutableRawBufferPointer) {
        guard let base = region.baseAddress else { return }
        explicit_bzero(base, region.count)   // not optimised away
        _ = munlock(base, region.count)
        _ = munmap(base, region.count)
    }

    /// Makes room for `extra` more bytes: new pages, copy, old pages wiped.
    private func reserve(_ extra: Int) {
        guard count + extra > region.count else { return }
        let bigger = Self.allocate(max(region.count * 2, count + extra))
        if count > 0 { bigger.baseAddress!.copyMemory(from: region.baseAddress!, byteCount: count) }
        Self.release(region)
        region = bigger
    }

    public func append(_ byte: UInt8) {
        reserve(1)
        region[count] = byte
        count += 1
    }

    /// One read(2) of up to `limit` bytes from `fd` straight into the secret.
    /// Returns the byte count (0 at end of file) or -1 with errno set.
    public func read(from fd: Int32, limit: Int) -> Int {
        reserve(limit)
        let n = Glibc.read(fd, region.baseAddress! + count, limit)
        if n > 0 { count += n }
        return n
    }

    /// Drops one trailing "\n" (a line read from a program).
    public func dropTrailingNewline() {
        if count > 0 && region[count - 1] == 10 { truncate(to: count - 1) }
    }

    /// Drops bytes beyond `length` (wiping them).
    func truncate(to length: Int) {
        guard length < count else { return }
        explicit_bzero(region.baseAddress! + length, count - length)
        count = length
    }

    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: region.baseAddress, count: count))
    }

    /// Equal contents, compared in time independent of where they differ.
    public func matches(_ other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<count { diff |= region[i] ^ other.region[i] }
        return diff == 0
    }

    /// Wipes the bytes now (also done on release).
    public func wipe() {
        explicit_bzero(region.baseAddress!, region.count)
        count = 0
    }

    deinit { Self.release(region) }
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
        let serial = secret.withUnsafeBytes { raw in
            add_key("logon", description, raw.baseAddress, raw.count, KEY_SPEC_THREAD_KEYRING)
        }
        guard serial >= 0 else {
            throw SwcryptError(.failure, "cannot add the key to the kernel keyring",
                               operation: "add_key", errno: Errno(rawValue: errno))
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
