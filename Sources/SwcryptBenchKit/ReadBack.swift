import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads every 4 KiB block of a device with O_DIRECT, as a witness independent of
/// swcrypt's own read-back: 1 MiB at a time, and where a read fails, that MiB again
/// block by block, counting the blocks that cannot be read (Scripts/crash-test).
public enum BlockReadBack {
    public struct Result: Equatable {
        public var unreadableBlocks: Int
        public var blocks: Int
    }

    public struct OpenError: Error, CustomStringConvertible {
        public var path: String
        public var errno: Int32
        public var description: String { "\(path): \(String(cString: strerror(errno)))" }
    }

    public static let chunk = 1 << 20, block = 4096

    /// O_DIRECT, which Swift's Glibc module does not show (C sees it only with
    /// _GNU_SOURCE); the value is architecture-specific (asm/fcntl.h).
    #if arch(arm64)
    static let oDirect: Int32 = 0o200000
    #else
    static let oDirect: Int32 = 0o40000
    #endif

    public static func read(_ path: String, direct: Bool = true) throws -> Result {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? oDirect : 0))
        guard fd >= 0 else { throw OpenError(path: path, errno: errno) }
        defer { close(fd) }
        let size = Int(lseek(fd, 0, SEEK_END))
        guard size >= 0 else { throw OpenError(path: path, errno: errno) }
        // O_DIRECT wants an aligned buffer: page-aligned serves both sizes.
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, 4096, chunk) == 0, let buffer = memory else { throw OpenError(path: path, errno: ENOMEM) }
        defer { free(buffer) }
        var bad = 0
        for offset in stride(from: 0, to: size, by: chunk) where pread(fd, buffer, chunk, off_t(offset)) < 0 {
            for b in stride(from: offset, to: min(offset + chunk, size), by: block) where pread(fd, buffer, block, off_t(b)) < 0 {
                bad += 1
            }
        }
        return Result(unreadableBlocks: bad, blocks: size / block)
    }
}
