import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Small files: sysfs/procfs/configfs attributes and swcrypt's own state, read and written whole.
public enum Files {
    /// Contents of a small text file, trailing newline removed; nil if unreadable.
    public static func readText(_ path: String) -> String? {
        guard let fd = try? FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) else {
            return nil
        }
        defer { try? fd.close() }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = (try? chunk.withUnsafeMutableBytes { try fd.read(into: $0) }) ?? -1
            if n < 0 { return nil }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    static func readInt(_ path: String) -> Int? {
        readText(path).flatMap { Int($0.trimmingCharacters(in: " \t")) }
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Directory entries (without . and ..), sorted; empty if unreadable.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names = [String]()
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The target of a symbolic link, nil if it is none.
    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }

    var lastPathComponent: String {
        split(separator: "/").last.map(String.init) ?? self
    }
}

extension Files {
    /// Replaces the file's contents (write to a temporary name, then rename).
    public static func write(_ path: String, _ text: String) throws(SwcryptError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SwcryptError.last("create", temporary) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard n == bytes.count else { throw SwcryptError.last("write", temporary) }
        guard rename(temporary, path) == 0 else { throw SwcryptError.last("rename", path) }
    }

    public static func remove(_ path: String) {
        unlink(path)
    }

    /// Creates a directory and its parents with mode 0755 (swcrypt's state holds
    /// nothing secret, and `testdev ls` works without root).
    public static func makeDirectories(_ path: String) throws(SwcryptError) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/\(part)"
            if mkdir(current, 0o755) != 0 && Glibc.errno != EEXIST { throw SwcryptError.last("mkdir", current) }
        }
    }

    /// Writes a small value to a sysfs/configfs attribute (one write, as `echo`).
    static func writeAttribute(_ path: String, _ value: String) throws(SwcryptError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SwcryptError.last("open", path) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw SwcryptError.last("write '\(value)' to", path) }
    }
}

extension SwcryptError {
    /// The call that just failed, with the errno it left.
    public static func last(_ operation: String, _ path: String) -> SwcryptError {
        SwcryptError(operation: operation, device: path, errno: Errno(rawValue: Glibc.errno))
    }
}
