import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// What a path names, from stat(2) (following symlinks such as /dev/disk/by-id/...).
public enum DeviceNode: Equatable, Sendable {
    case block(major: Int, minor: Int)
    case character(major: Int, minor: Int)
    case regularFile
    case directory
    case other
    case missing(Errno)

    public static func of(path: String) -> DeviceNode {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing(Errno(rawValue: errno)) }
        let dev = UInt64(st.st_rdev)
        // glibc's major()/minor() encoding (sys/sysmacros.h), done here because the
        // macros are not importable.
        let major = Int(((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff)))
        let minor = Int((dev & 0xff) | ((dev >> 12) & ~UInt64(0xff)))
        switch st.st_mode & S_IFMT {
        case S_IFBLK: return .block(major: major, minor: minor)
        case S_IFCHR: return .character(major: major, minor: minor)
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        default: return .other
        }
    }
}
