import SwcryptCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads what the kernel logs while an operation runs (/dev/kmsg), so errors can
/// carry the kernel's own reason ("device-mapper: crypt: Integrity profile tag
/// size mismatch") instead of a bare errno.
public final class KernelLogWindow {
    private let fd: Int32

    /// Opens /dev/kmsg positioned at its end; nil when it cannot be read (not root).
    public init?(path: String = "/dev/kmsg") {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        lseek(fd, 0, SEEK_END)
        self.fd = fd
    }

    /// The whole kernel log still in the ring buffer, from its start.
    public static func history(path: String = "/dev/kmsg") -> [String] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return drain(fd)
    }

    deinit { close(fd) }

    /// Messages logged since the window opened (or since the last call).
    public func drain() -> [String] { Self.drain(fd) }

    private static func drain(_ fd: Int32) -> [String] {
        KernelLogReader.records(fd).map(\.message)
    }

    /// The lines of device-mapper, dm-crypt, dm-integrity and NVMe, the ones an error should quote.
    public static func relevant(_ lines: [String]) -> [String] {
        lines.filter { l in
            l.contains("device-mapper:") || l.contains("INTEGRITY AEAD ERROR") || l.hasPrefix("nvme")
                || l.hasPrefix("dm-") || l.contains("integrity:") || l.contains("crypt:")
        }
    }

    /// The line that says why: a target's own error ("device-mapper: table: 253:1:
    /// crypt: Error allocating crypto tfm (-ENOENT)") rather than the generic
    /// "ioctl: error adding target to table" that follows it.
    public static func reason(_ lines: [String]) -> String? {
        let specific = lines.filter { !$0.contains("error adding target to table") }
        return specific.first { $0.contains("table:") } ?? specific.last ?? lines.last
    }
}

/// Follows /dev/kmsg record by record, from the oldest record still in the ring
/// buffer, for a long-running reader (`swcrypt watch`).
public final class KernelLogReader {
    private let fd: Int32
    public let path: String

    public init(path: String = "/dev/kmsg") throws(SwcryptError) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw SwcryptError.last("open", path) }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Skips what is in the ring buffer now: the next records are new ones.
    public func skipToEnd() { lseek(fd, 0, SEEK_END) }

    /// The records logged since the last call; waits up to `milliseconds` when
    /// there are none (returns early, empty, when a signal arrives).
    public func next(waitingUpTo milliseconds: Int32) -> [KernelLogRecord] {
        var records = Self.records(fd)
        if records.isEmpty {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, milliseconds) > 0 { records = Self.records(fd) }
        }
        return records
    }

    static func records(_ fd: Int32) -> [KernelLogRecord] {
        var records = [KernelLogRecord]()
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EPIPE { continue } // records overwritten before we read them; go on with the next
                break
            }
            if n == 0 { break }
            if let r = KernelLogRecord(record: String(decoding: buffer[0..<n], as: UTF8.self)) { records.append(r) }
        }
        return records
    }
}
