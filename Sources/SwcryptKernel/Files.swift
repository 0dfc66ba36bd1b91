import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Small file helpers for sysfs/procfs: small text files, read whole.
enum Files {
    /// Contents of a small text file, trailing newline removed; nil if unreadable.
    static func readText(_ path: String) -> String? {
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

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Directory entries (without . and ..), sorted; empty if unreadable.
    static func list(_ path: String) -> [String] {
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
