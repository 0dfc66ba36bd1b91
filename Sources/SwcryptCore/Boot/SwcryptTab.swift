/// /etc/swcrypttab: crypttab(5)'s syntax, for the volumes swcrypt opens at boot.
/// Each line: NAME SOURCE [KEY-FILE [OPTIONS]]; `#` starts a comment. SOURCE is a
/// path or UUID=, PARTUUID=, LABEL=, PARTLABEL=; KEY-FILE `none`, `-` or missing
/// means "ask" (through systemd-ask-password). Options are comma-separated.
public struct SwcryptTab: Equatable, Sendable {
    public var entries: [Entry]
    /// One line per problem, naming the file's line: unknown options, bad lines.
    public var warnings: [String]

    public struct Entry: Equatable, Sendable {
        public var line: Int
        public var name: String
        /// As written: a path, or UUID=/PARTUUID=/LABEL=/PARTLABEL=.
        public var source: String
        /// nil: ask for the passphrase.
        public var keyFile: String?
        public var options: Options

        /// The device node to wait for: /dev/disk/by-uuid/... for UUID=, and so on.
        public var sourcePath: String {
            for (prefix, dir) in [("UUID=", "by-uuid"), ("PARTUUID=", "by-partuuid"), ("LABEL=", "by-label"), ("PARTLABEL=", "by-partlabel")]
            where source.hasPrefix(prefix) {
                var value = String(source.dropFirst(prefix.count))
                if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
                return "/dev/disk/\(dir)/\(dir == "by-uuid" || dir == "by-partuuid" ? value.lowercased() : value)"
            }
            return source
        }
    }

    public struct Options: Equatable, Sendable {
        public var readOnly = false
        public var noFail = false
        public var noAuto = false
        /// `_netdev`: needs the network (remote-cryptsetup.target).
        public var network = false
        /// Unlock through the volume's clevis tokens only (tang, TPM2), then ask.
        public var clevis = false
        public var tries: Int?
        public var keyfileSize: Int?
        public var keyfileOffset: UInt64?
        public var keySlot: Int?
        /// `token-timeout=` in seconds (given as seconds, or with systemd's units
        /// ms, s, min, h: "30", "30s", "1min").
        public var tokenTimeout: Double?
        /// `x-systemd.device-timeout=`, as given.
        public var deviceTimeout: String?

        public init() {}
    }

    /// The options swcrypt knows; crypttab options it accepts and has no use for
    /// (`luks`: every swcrypt volume is LUKS2) are listed too, so that they do not warn.
    /// (Key paths are immutable values; the dictionary is never written.)
    nonisolated(unsafe) static let flags: [String: WritableKeyPath<Options, Bool>] = [
        "readonly": \.readOnly, "read-only": \.readOnly, "nofail": \.noFail, "noauto": \.noAuto,
        "_netdev": \.network, "clevis": \.clevis,
    ]
    static let accepted: Set<String> = ["luks", "auto", "fail"]

    /// A systemd time span as crypttab options write it: a number of seconds, or a
    /// number with one of the units ms, s/sec, m/min, h (systemd.time(7)).
    static func timeSpan(_ text: String) -> Double? {
        let digits = text.prefix { $0.isNumber || $0 == "." }
        guard let n = Double(digits) else { return nil }
        switch text.dropFirst(digits.count) {
        case "", "s", "sec", "second", "seconds": return n
        case "ms", "msec": return n / 1000
        case "m", "min", "minute", "minutes": return n * 60
        case "h", "hr", "hour", "hours": return n * 3600
        default: return nil
        }
    }

    public init(parsing text: String, file: String = "/etc/swcrypttab") {
        entries = []
        warnings = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard !fields.isEmpty else { continue }
            guard (2...4).contains(fields.count) else {
                warnings.append("\(file):\(number): ignored: want NAME SOURCE [KEY-FILE [OPTIONS]], found \(fields.count) fields")
                continue
            }
            do { try StackNaming.validate(name: fields[0]) } catch {
                warnings.append("\(file):\(number): ignored: \(error.message)")
                continue
            }
            let key = fields.count > 2 && !["none", "-"].contains(fields[2]) ? fields[2] : nil
            var options = Options()
            for word in fields.count > 3 ? fields[3].split(separator: ",").map(String.init) : [] {
                if let warning = Self.apply(word, to: &options) {
                    warnings.append("\(file):\(number): \(warning)")
                }
            }
            entries.append(Entry(line: number, name: fields[0], source: fields[1], keyFile: key, options: options))
        }
        var seen = Set<String>()
        for e in entries where !seen.insert(e.name).inserted {
            warnings.append("\(file):\(e.line): the name \(e.name) is used by an earlier line too; the first one is used")
        }
        var unique = Set<String>()
        entries = entries.filter { unique.insert($0.name).inserted }
    }

    /// nil when the option was understood; else the warning.
    static func apply(_ word: String, to o: inout Options) -> String? {
        if let flag = flags[word] { o[keyPath: flag] = true; return nil }
        if accepted.contains(word) { return nil }
        let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return "unknown option '\(word)' ignored" }
        let (key, value) = (parts[0], parts[1])
        func number<T: FixedWidthInteger>(_ t: T.Type, atLeast minimum: T) -> T? {
            guard let n = T(value), n >= minimum else { return nil }
            return n
        }
        switch key {
        case "tries":
            guard let n = number(Int.self, atLeast: 0) else { return "bad value in '\(word)' ignored" }
            o.tries = n
        case "keyfile-size":
            guard let n = number(Int.self, atLeast: 1) else { return "bad value in '\(word)' ignored" }
            o.keyfileSize = n
        case "keyfile-offset":
            guard let n = number(UInt64.self, atLeast: 0) else { return "bad value in '\(word)' ignored" }
            o.keyfileOffset = n
        case "key-slot", "keyslot":
            guard let n = number(Int.self, atLeast: 0) else { return "bad value in '\(word)' ignored" }
            o.keySlot = n
        case "token-timeout":
            guard let seconds = Self.timeSpan(value), seconds > 0 else { return "bad value in '\(word)' ignored" }
            o.tokenTimeout = seconds
        case "x-systemd.device-timeout":
            o.deviceTimeout = value
        default:
            return "unknown option '\(word)' ignored"
        }
        return nil
    }
}

/// Whether the kernel command line lets swcrypt's generator open volumes: it
/// honours `luks=` as systemd-cryptsetup-generator does (and `rd.luks=` in an
/// initrd), so that `luks=no` on a rescue boot leaves every encrypted volume shut,
/// swcrypt's included. The last occurrence wins, as on systemd.
public enum BootCommandLine {
    public static func volumesEnabled(_ cmdline: String, initrd: Bool = false) -> Bool {
        var enabled = true
        for word in cmdline.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0] == "luks" || (initrd && parts[0] == "rd.luks") else { continue }
            switch parts[1].lowercased() {
            case "0", "no", "n", "false", "off": enabled = false
            case "1", "yes", "y", "true", "on": enabled = true
            default: break
            }
        }
        return enabled
    }
}
