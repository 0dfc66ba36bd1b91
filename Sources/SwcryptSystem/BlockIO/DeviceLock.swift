import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on one block device, shared with cryptsetup: the same
/// resource libcryptsetup locks for LUKS2 metadata, `/run/cryptsetup/L_<major>:<minor>`
/// (its `DEFAULT_LUKS2_LOCK_PATH`), with its protocol: `flock`, then check that
/// the path still names the file locked (a releasing holder unlinks it), and
/// unlink it on release.
///
/// Held while swcrypt checks that a device is unused and builds a stack on it:
/// device-mapper lets several mappings claim one device (they share one holder),
/// so two opens racing past the "in use" check would both succeed. With the lock
/// a second swcrypt waits, and so does a cryptsetup command on the same device
/// (libcryptsetup takes this lock shared or exclusive for every header access);
/// then it sees the first one's mapping. While swcrypt holds the lock its own
/// libcryptsetup must not lock the same file (flock locks belong to one open
/// file description: it would wait on itself), so the caller turns
/// libcryptsetup's metadata locking off for that time.
///
/// Waiting is bounded (`timeout`); nobody waits forever behind a prompt, because
/// callers read passphrases before they lock.
public final class DeviceLock {
    private let fd: Int32
    public let path: String

    public static let directory = "/run/cryptsetup"

    public init(major: Int, minor: Int, device: String, timeout: Double = 60,
                directory: String = DeviceLock.directory) throws(SwcryptError) {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw SwcryptError(.failure, device: device, "cannot create the lock directory \(directory)", errno: Errno(rawValue: errno))
        }
        let path = "\(directory)/L_\(major):\(minor)"
        self.path = path
        var waited = 0.0
        while true {
            let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else {
                throw SwcryptError(.failure, device: device, "cannot open the lock \(path)", errno: Errno(rawValue: errno))
            }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                // The holder before us may have unlinked the file as it released it:
                // then this lock guards nothing, and we start again on the new file.
                var held = stat(), named = stat()
                if fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_ino == named.st_ino && held.st_dev == named.st_dev {
                    self.fd = fd
                    return
                }
                close(fd)
                continue
            }
            let e = errno
            close(fd)
            guard e == EWOULDBLOCK || e == EINTR else {
                throw SwcryptError(.failure, device: device, "cannot lock \(path)", errno: Errno(rawValue: e))
            }
            guard waited < timeout else {
                throw SwcryptError(.busy, device: device, "another swcrypt or cryptsetup command has held the device's lock \(path) for \(Int(timeout)) s; try again when it has finished")
            }
            usleep(100_000)
            waited += 0.1
        }
    }

    deinit {
        // As libcryptsetup releases its locks: drop the file while still holding it.
        unlink(path)
        close(fd)
    }
}
