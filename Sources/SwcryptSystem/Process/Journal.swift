import SwcryptCore
internal import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// systemd's journal, for structured entries ("SWCRYPT_VOLUME=...") that
/// `journalctl SWCRYPT_VOLUME=data` can select.
public enum Journal {
    /// Whether stdout is connected to the journal: systemd sets JOURNAL_STREAM to
    /// "device:inode" of the stream it gave the service (systemd.exec(5)), and
    /// the check that stdout is still that stream is the one sd_journal's own
    /// documentation asks for.
    public static var isStandardOutput: Bool {
        guard let value = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(STDOUT_FILENO, &st) == 0 else { return false }
        return UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }

    /// One entry; `fields` are ("MESSAGE", "...") pairs, names in upper case.
    /// Throws the errno sd_journal_sendv returned (no journal socket, for example).
    public static func send(_ fields: [(String, String)]) throws(SwcryptError) {
        let items = fields.map { Array("\($0.0)=\($0.1)".utf8) }
        var pointers = [UnsafeMutableRawPointer]()
        defer { pointers.forEach { $0.deallocate() } }
        var vectors = [iovec]()
        for item in items {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(item.count, 1), alignment: 1)
            item.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: item.count) }
            pointers.append(p)
            vectors.append(iovec(iov_base: p, iov_len: item.count))
        }
        let rc = vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        if rc < 0 { throw SwcryptError(.failure, device: "journal", "sd_journal_sendv failed", cause: String(cString: strerror(-rc))) }
    }
}
