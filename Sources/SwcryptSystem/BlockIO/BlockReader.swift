import SwcryptCore
import CSwcryptShim
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Large direct reads of a block device (a volume's mapping), each failed read
/// narrowed down to the single blocks that fail: what a scrub and format's
/// read-back do. O_DIRECT, so that every block comes from the device through the
/// mapping (authenticated on the way), never from the page cache.
public final class BlockReader {
    public let path: String
    public let size: UInt64
    public let blockBytes: Int
    public let chunkBytes: Int
    let fd: Int32
    let buffer: UnsafeMutableRawPointer

    public init(path: String, blockBytes: Int, chunkBytes: Int = 4 << 20) throws(SwcryptError) {
        (fd, size) = try Wiper.openDirect(path, write: false)
        self.path = path
        self.blockBytes = blockBytes
        self.chunkBytes = chunkBytes
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 4096, chunkBytes) == 0, let made = raw else {
            close(fd)
            throw SwcryptError(.memory, device: path, "cannot allocate an aligned I/O buffer")
        }
        buffer = made
    }

    deinit {
        free(buffer)
        close(fd)
    }

    /// Reads `length` bytes (at most `chunkBytes`) at `offset`; returns the blocks
    /// in it that fail to read, with their errno (none when the whole piece reads).
    public func failingBlocks(at offset: UInt64, length: Int) -> [DamagedBlock] {
        Self.failingBlocks(fd: fd, buffer: buffer, offset: offset, length: length, blockBytes: blockBytes)
    }

    /// One read of the piece; when it fails, one read per block.
    static func failingBlocks(fd: Int32, buffer: UnsafeMutableRawPointer, offset: UInt64, length: Int,
                              blockBytes: Int) -> [DamagedBlock] {
        if readFully(fd, buffer, length, offset) == nil { return [] }
        var bad = [DamagedBlock]()
        var b = 0
        while b < length {
            if let e = readFully(fd, buffer, blockBytes, offset + UInt64(b)) {
                bad.append(DamagedBlock(offset: offset + UInt64(b), errno: e))
            }
            b += blockBytes
        }
        return bad
    }

    /// nil when all `length` bytes were read; else the errno (EIO for a short read).
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ length: Int, _ offset: UInt64) -> Int32? {
        var done = 0
        while done < length {
            let n = pread(fd, buffer + done, length - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if n == 0 { return EIO }
            done += n
        }
        return nil
    }

    /// Writes zeros over one block through the mapping (a fresh tag with them) and
    /// reads it back; nil when it reads again, else the errno.
    public static func rewriteWithZeros(_ path: String, offset: UInt64, blockBytes: Int) throws(SwcryptError) -> Int32? {
        let (fd, _) = try Wiper.openDirect(path, write: true)
        defer { close(fd) }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 4096, blockBytes) == 0, let block = raw else {
            throw SwcryptError(.memory, device: path, "cannot allocate an aligned I/O buffer")
        }
        defer { free(block) }
        memset(block, 0, blockBytes)
        guard pwrite(fd, block, blockBytes, off_t(offset)) == blockBytes, fdatasync(fd) == 0 else {
            throw SwcryptError(.failure, device: path, "rewriting the block at byte \(offset) failed", errno: Errno(rawValue: errno))
        }
        let reader = open(path, O_RDONLY | swcrypt_shim_O_DIRECT() | O_CLOEXEC)
        guard reader >= 0 else { return errno }
        defer { close(reader) }
        return readFully(reader, block, blockBytes, offset)
    }
}

/// The I/O scheduler's idle class for this process: a scrub gets the disk only when
/// nothing else wants it (honoured by BFQ; mq-deadline and none ignore classes).
public func useIdleIOClass() -> Bool { swcrypt_shim_ioprio_idle() == 0 }
