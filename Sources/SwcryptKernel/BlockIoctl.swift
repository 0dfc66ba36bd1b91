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
}
