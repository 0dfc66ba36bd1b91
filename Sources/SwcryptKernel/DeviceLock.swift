import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive advisory lock per block device (flock on
/// /run/swcrypt/locks/<major>:<minor>), held while swcrypt checks that a device
/// is unused and builds a stack on it. device-mapper itself lets several
/// mappings claim one device (they share one holder), so two opens racing past
/// the "in use" check would both succeed; with the lock, the second one waits
/// and then sees the first one's mapping.
public final class DeviceLock {
    private let fd: Int32

    public init(major: Int, minor: Int, device: String, directory: String = "/run/swcrypt/locks") throws(SwcryptError) {
        _ = mkdir("/run/swcrypt", 0o700)
        _ = mkdir(directory, 0o700)
        let path = "\(directory)/\(major):\(minor)"
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SwcryptError(.failure, device: device, "cannot create the lock \(path)", cause: Errno(rawValue: errno).description)
        }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let e = Errno(rawValue: errno)
            close(fd)
            throw SwcryptError(.failure, device: device, "cannot lock \(path)", cause: e.description)
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
