import CSwcryptShim
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Block-layer ioctls on a device node.
public enum BlockIoctl {
    /// Drop the device's buffer cache (BLKFLSBUF), so no stale pages from before a
    /// low-level format are served.
    public static func flushBuffers(_ path: String) -> Errno? {
        call(path, swcrypt_shim_BLKFLSBUF())
    }

    /// Make the kernel re-read the partition table (BLKRRPART).
    public static func rereadPartitions(_ path: String) -> Errno? {
        call(path, swcrypt_shim_BLKRRPART())
    }

    private static func call(_ path: String, _ request: UInt) -> Errno? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return Errno(rawValue: errno) }
        defer { close(fd) }
        return ioctl(fd, request) == 0 ? nil : Errno(rawValue: errno)
    }
}

public enum Privileges {
    public static var isRoot: Bool { geteuid() == 0 }

    /// Sets this process's core-file size limit (soft and hard) to 0: no core
    /// file, and core handlers such as systemd-coredump, which honour the limit,
    /// store nothing. Unlike PR_SET_DUMPABLE it leaves ptrace and /proc/PID
    /// alone, which the Swift runtime's crash backtracer needs.
    @discardableResult
    public static func forbidCoreDumps() -> Bool {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        return setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none) == 0
    }

    /// PR_SET_DUMPABLE 0: stops what RLIMIT_CORE does not, a pipe core_pattern
    /// (systemd-coredump, apport), and ptrace or /proc/PID/mem by other users.
    public static func forbidDumping() -> Bool {
        swcrypt_shim_set_undumpable() == 0
    }

    /// Fatal signals (SEGV, BUS, ILL, FPE, TRAP, ABRT, QUIT, SYS, XCPU, XFSZ) end
    /// the process with exit status 128+N and one line, instead of their default
    /// action, a core dump: with fs.suid_dumpable = 2, which systemd-coredump sets,
    /// the kernel hands even a non-dumpable process to a pipe core_pattern.
    /// Terminal echo off on FD for a passphrase; Ctrl-C, SIGTERM or a hang-up
    /// restore it before they end the process. False when FD is not a terminal.
    public static func echoOff(_ fd: Int32) -> Bool { swcrypt_shim_echo_off(fd) == 0 }
    public static func echoRestore() { swcrypt_shim_echo_restore() }

    public static func exitOnFatalSignals() -> Bool {
        swcrypt_shim_exit_on_fatal_signals() == 0
    }
}

/// A block device opened with O_EXCL: the kernel's exclusive claim, refused
/// (EBUSY) while anything else claims it: a filesystem mounted in any mount
/// namespace, a device-mapper or md holder, swap, or another exclusive opener.
/// swcrypt probes and writes a device it is about to map only through this
/// descriptor. It must be closed before device-mapper claims the device itself.
public final class ExclusiveClaim {
    public let fd: Int32
    public let path: String

    public init(path: String, writable: Bool) throws(SwcryptError) {
        let fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_EXCL | O_CLOEXEC)
        guard fd >= 0 else {
            let e = Errno(rawValue: errno)
            if e == .resourceBusy {
                throw SwcryptError(.busy, device: path, "in use: the kernel refuses an exclusive open (mounted, perhaps in another mount namespace, swap, or held by a mapping, md or a program)")
            }
            throw SwcryptError(.wrongDevice, device: path, "cannot open exclusively", errno: e)
        }
        self.fd = fd
        self.path = path
    }

    public func read(offset: UInt64, count: Int) throws(SwcryptError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard n == count else {
            throw SwcryptError(.wrongDevice, device: path, "cannot read \(count) bytes at \(offset)", cause: n < 0 ? nil : "short read", errno: n < 0 ? Errno(rawValue: errno) : nil)
        }
        return buffer
    }

    /// Writes zeros and flushes them to the device.
    public func zero(offset: UInt64, count: Int) throws(SwcryptError) {
        let zeros = [UInt8](repeating: 0, count: count)
        let n = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, count, off_t(offset)) }
        guard n == count, fsync(fd) == 0 else {
            throw SwcryptError(.failure, device: path, "cannot write \(count) bytes at \(offset)", errno: Errno(rawValue: errno))
        }
    }

    deinit { close(fd) }
}

/// Opens a block device O_EXCL to see whether someone holds it exclusively
/// (a mount, a mapping, another O_EXCL opener). nil when free.
public func exclusiveOpenError(_ path: String) -> Errno? {
    let fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC)
    guard fd >= 0 else { return Errno(rawValue: Glibc.errno) }
    close(fd)
    return nil
}
