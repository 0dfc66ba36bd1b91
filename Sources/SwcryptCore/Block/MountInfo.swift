/// One line of /proc/self/mountinfo, the fields swcrypt needs.
public struct MountEntry: Equatable, Sendable {
    public var major: Int
    public var minor: Int
    public var mountPoint: String
    public var source: String
    /// The filesystem type ("ext4", "xfs").
    public var fsType = ""

    /// Parses mountinfo text (proc(5)): `id parent major:minor root mountpoint opts ... - fstype source superopts`.
    public static func parse(_ text: String) -> [MountEntry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 5 else { return nil }
            let mm = fields[2].split(separator: ":")
            guard mm.count == 2, let major = Int(mm[0]), let minor = Int(mm[1]) else { return nil }
            var source = "", type = ""
            if let dash = fields.firstIndex(of: "-"), dash + 2 < fields.count {
                type = String(fields[dash + 1])
                source = unescapeOctal(String(fields[dash + 2]))
            }
            var entry = MountEntry(major: major, minor: minor, mountPoint: unescapeOctal(String(fields[4])), source: source)
            entry.fsType = type
            return entry
        }
    }
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
func unescapeOctal(_ s: String) -> String {
    guard s.contains("\\") else { return s }
    var out = [UInt8]()
    let bytes = Array(s.utf8)
    var i = 0
    while i < bytes.count {
        if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
           let v = UInt8(String(decoding: bytes[(i + 1)..<(i + 4)], as: UTF8.self), radix: 8) {
            out.append(v)
            i += 4
        } else {
            out.append(bytes[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}
