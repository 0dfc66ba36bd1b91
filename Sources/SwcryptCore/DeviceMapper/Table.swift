/// The device-mapper table model: typed targets, rendered to table text in one
/// place (`render`) and parsed back from `dmsetup table` text (`parse`).

/// dm-crypt's key argument. swcrypt only ever loads keyring references; hex keys
/// exist for parsing other tables and for tests.
public enum KeyReference: Equatable, Hashable, Sendable {
    /// `:<size>:<type>:<description>`, e.g. `:16:logon:swcrypt:vol1`.
    case keyring(size: Int, type: String, description: String)
    /// Hex key material (never produced by swcrypt for a real mapping).
    case hex(String)
    /// `-`: no key (cipher_null).
    case none

    public func render(masked: Bool) -> String {
        switch self {
        case .keyring(let size, let type, let description): return ":\(size):\(type):\(description)"
        case .hex(let hex): return masked ? String(repeating: "0", count: hex.count) : hex
        case .none: return "-"
        }
    }

    public static func parse(_ text: String) throws(TableError) -> KeyReference {
        if text == "-" { return .none }
        if text.hasPrefix(":") {
            let parts = text.dropFirst().split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let size = Int(parts[0]), size > 0, !parts[1].isEmpty, !parts[2].isEmpty else {
                throw TableError("bad keyring key reference '\(text)' (want :<size>:<type>:<description>)")
            }
            return .keyring(size: size, type: String(parts[1]), description: String(parts[2]))
        }
        guard !text.isEmpty, text.count % 2 == 0, text.allSatisfy({ $0.isHexDigit }) else {
            throw TableError("bad key '\(text.prefix(8))…': neither hex nor a keyring reference")
        }
        return .hex(text)
    }

    /// Key size in bytes.
    public var size: Int {
        switch self {
        case .keyring(let size, _, _): return size
        case .hex(let hex): return hex.count / 2
        case .none: return 0
        }
    }
}

/// One word of a device-mapper table. The kernel splits table text on white
/// space and treats a backslash as an escape, so a word must hold neither, nor
/// control characters, nor `#` (a comment in table files); and it cannot be empty.
public enum TableWord {
    /// `secret`: the word is key material; the refusal then does not quote it.
    public static func check(_ word: String, in what: String, secret: Bool = false) throws(TableError) {
        guard !word.isEmpty else { throw TableError("\(what): an empty word in the table") }
        for scalar in word.unicodeScalars {
            let bad: String?
            switch scalar {
            case " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}": bad = "white space"
            case "\\": bad = "a backslash"
            case "#": bad = "'#'"
            default: bad = (scalar.value < 0x20 || scalar.value == 0x7F || !scalar.isASCII) ? "a control or non-ASCII character" : nil
            }
            if let bad {
                let shown = secret ? "the key" : "'\(word.prefix(40))'"
                throw TableError("\(what): \(shown) contains \(bad), which cannot be part of one table word")
            }
        }
    }
}

public struct TableError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct CryptTarget: Equatable, Sendable {
    public struct Integrity: Equatable, Sendable {
        /// Bytes of per-sector metadata dm-crypt uses (stored IV + tag).
        public var bytes: Int
        /// `aead` (authenticated) or `none` (metadata used for the IV only).
        public var type: String
        public init(bytes: Int, type: String) { self.bytes = bytes; self.type = type }
    }

    public var cipher: KernelCipher
    public var key: KeyReference
    var ivOffset: UInt64
    public var device: String
    public var offset: UInt64
    public var integrity: Integrity?
    var integrityKeySize: Int?
    public var sectorSize: Int?
    var ivLargeSectors = false
    public var allowDiscards = false
    public var performance = PerformanceFlags()

    public init(cipher: KernelCipher, key: KeyReference, ivOffset: UInt64 = 0, device: String, offset: UInt64 = 0,
                integrity: Integrity? = nil, sectorSize: Int? = nil) {
        self.cipher = cipher
        self.key = key
        self.ivOffset = ivOffset
        self.device = device
        self.offset = offset
        self.integrity = integrity
        self.sectorSize = sectorSize
    }

    var optionalArguments: [String] {
        var a = [String]()
        if allowDiscards { a.append("allow_discards") }
        if performance.sameCPUCrypt { a.append("same_cpu_crypt") }
        if performance.highPriority { a.append("high_priority") }
        if performance.submitFromCryptCPUs { a.append("submit_from_crypt_cpus") }
        if performance.noReadWorkqueue { a.append("no_read_workqueue") }
        if performance.noWriteWorkqueue { a.append("no_write_workqueue") }
        if let integrity { a.append("integrity:\(integrity.bytes):\(integrity.type)") }
        if let integrityKeySize { a.append("integrity_key_size:\(integrityKeySize)") }
        if let sectorSize, sectorSize != 512 { a.append("sector_size:\(sectorSize)") }
        if ivLargeSectors { a.append("iv_large_sectors") }
        return a
    }
}

public struct IntegrityTarget: Equatable, Sendable {
    public enum Mode: Character, Sendable, CaseIterable {
        /// Journal: crash-safe, every write twice.
        case journal = "J"
        /// Bitmap: no journal, a bitmap of dirty regions recalculated after a crash.
        case bitmap = "B"
        /// Direct: no journal, a crash may leave mismatched tags.
        case direct = "D"
        /// Recovery: read-only, no checking (to rescue data).
        case recovery = "R"
        /// Inline (Linux 6.11+): tags in the device's own per-sector metadata, no journal.
        case inline = "I"
    }

    public var device: String
    public var offset: UInt64
    public var tagSize: Int
    public var mode: Mode
    var metaDevice: String?
    public var blockSize: Int?
    public var recalculate = false
    public var allowDiscards = false
    public var journalSectors: Int?
    public var interleaveSectors: Int?
    public var bufferSectors: Int?
    public var journalWatermark: Int?
    public var commitTime: Int?
    public var sectorsPerBit: Int?
    public var bitmapFlushInterval: Int?
    public var fixPadding = false
    public var fixHmac = false
    var legacyRecalculate = false
    public var internalHash: String?

    /// Tag bytes of dm-integrity's internal hashes, for `--internal-hash` without `--tag-size`.
    public static let internalHashTagBytes: [String: Int] = ["crc32c": 4, "crc32": 4, "xxhash64": 8, "sha1": 20, "sha256": 32,
                                                            "sha512": 64, "blake2b-256": 32]

    public init(device: String, offset: UInt64 = 0, tagSize: Int, mode: Mode) {
        self.device = device
        self.offset = offset
        self.tagSize = tagSize
        self.mode = mode
    }

    /// In the order the kernel prints them (dm-integrity's status, STATUSTYPE_TABLE).
    var optionalArguments: [String] {
        var a = [String]()
        if let metaDevice { a.append("meta_device:\(metaDevice)") }
        if let blockSize, blockSize != 512 { a.append("block_size:\(blockSize)") }
        if recalculate { a.append("recalculate") }
        if allowDiscards { a.append("allow_discards") }
        if let journalSectors { a.append("journal_sectors:\(journalSectors)") }
        if let interleaveSectors { a.append("interleave_sectors:\(interleaveSectors)") }
        if let bufferSectors { a.append("buffer_sectors:\(bufferSectors)") }
        if let journalWatermark { a.append("journal_watermark:\(journalWatermark)") }
        if let commitTime { a.append("commit_time:\(commitTime)") }
        if let sectorsPerBit { a.append("sectors_per_bit:\(sectorsPerBit)") }
        if let bitmapFlushInterval { a.append("bitmap_flush_interval:\(bitmapFlushInterval)") }
        if fixPadding { a.append("fix_padding") }
        if fixHmac { a.append("fix_hmac") }
        if legacyRecalculate { a.append("legacy_recalculate") }
        if let internalHash { a.append("internal_hash:\(internalHash)") }
        return a
    }
}

public struct LinearTarget: Equatable, Sendable {
    public var device: String
    public var offset: UInt64
    public init(device: String, offset: UInt64 = 0) { self.device = device; self.offset = offset }
}

public struct FlakeyTarget: Equatable, Sendable {
    public var device: String
    public var offset: UInt64
    /// Seconds the device works, then seconds it misbehaves.
    var upInterval: Int
    var downInterval: Int
    /// Feature arguments as the kernel takes them (`drop_writes`, `error_writes`,
    /// `corrupt_bio_byte 32 r 1 0`, ...).
    var features: [String]

    public init(device: String, offset: UInt64 = 0, upInterval: Int, downInterval: Int, features: [String] = []) {
        self.device = device
        self.offset = offset
        self.upInterval = upInterval
        self.downInterval = downInterval
        self.features = features
    }
}

public enum Target: Equatable, Sendable {
    case crypt(CryptTarget)
    case integrity(IntegrityTarget)
    case linear(LinearTarget)
    case flakey(FlakeyTarget)
    case error
    case zero

    public var typeName: String {
        switch self {
        case .crypt: return "crypt"
        case .integrity: return "integrity"
        case .linear: return "linear"
        case .flakey: return "flakey"
        case .error: return "error"
        case .zero: return "zero"
        }
    }

    /// The target's parameter string (everything after the type). Every word is
    /// checked by `TableWord.check`: a value holding a space or a backslash would
    /// become several words of the kernel's table (another device, key or
    /// option), so rendering refuses it, whatever option it came from.
    public func parameters(masked: Bool = false) throws(TableError) -> String {
        let words = try self.words(masked: masked)
        for (n, w) in words.enumerated() {
            try TableWord.check(w, in: typeName, secret: typeName == "crypt" && n == 1)
        }
        return words.joined(separator: " ")
    }

    private func words(masked: Bool) throws(TableError) -> [String] {
        func counted(_ fixed: [String], _ optional: [String]) -> [String] {
            fixed + (optional.isEmpty ? [] : ["\(optional.count)"] + optional)
        }
        switch self {
        case .crypt(let c):
            return counted([c.cipher.text, c.key.render(masked: masked), "\(c.ivOffset)", c.device, "\(c.offset)"],
                           c.optionalArguments)
        case .integrity(let i):
            // The option count is mandatory for dm-integrity, even when 0.
            let opts = i.optionalArguments
            return [i.device, "\(i.offset)", "\(i.tagSize)", String(i.mode.rawValue), "\(opts.count)"] + opts
        case .linear(let l):
            return [l.device, "\(l.offset)"]
        case .flakey(let f):
            var words = [f.device, "\(f.offset)", "\(f.upInterval)", "\(f.downInterval)"]
            if !f.features.isEmpty {
                // A feature is several words ("corrupt_bio_byte 32 r 1 0", counted as 5),
                // split on single spaces only: anything else is refused by the check.
                let flat = f.features.flatMap { $0.split(separator: " ", omittingEmptySubsequences: false).map(String.init) }
                words += ["\(flat.count)"] + flat
            }
            return words
        case .error, .zero:
            return []
        }
    }

    /// The same target with each device name passed through `map`.
    public func replacingDevices(_ map: (String) -> String) -> Target {
        switch self {
        case .crypt(var c): c.device = map(c.device); return .crypt(c)
        case .integrity(var i):
            i.device = map(i.device)
            i.metaDevice = i.metaDevice.map(map)
            return .integrity(i)
        case .linear(var l): l.device = map(l.device); return .linear(l)
        case .flakey(var f): f.device = map(f.device); return .flakey(f)
        case .error, .zero: return self
        }
    }

    /// The block devices the target stacks on.
    public var devices: [String] {
        switch self {
        case .crypt(let c): return [c.device]
        case .integrity(let i): return [i.device] + (i.metaDevice.map { [$0] } ?? [])
        case .linear(let l): return [l.device]
        case .flakey(let f): return [f.device]
        case .error, .zero: return []
        }
    }
}

public struct TableLine: Equatable, Sendable {
    public var start: UInt64
    /// Length in 512-byte sectors.
    public var length: UInt64
    public var target: Target

    public init(start: UInt64 = 0, length: UInt64, target: Target) {
        self.start = start
        self.length = length
        self.target = target
    }

    public func render(masked: Bool = false) throws(TableError) -> String {
        let p = try target.parameters(masked: masked)
        return "\(start) \(length) \(target.typeName)" + (p.isEmpty ? "" : " " + p)
    }
}

public struct Table: Equatable, Sendable {
    public var lines: [TableLine]

    public init(_ lines: [TableLine]) { self.lines = lines }

    public var sectors: UInt64 { lines.map { $0.start + $0.length }.max() ?? 0 }

    public func render(masked: Bool = false) throws(TableError) -> String {
        try lines.map { line throws(TableError) in try line.render(masked: masked) }.joined(separator: "\n")
    }

    /// Parses table text as `dmsetup table` prints it or a table file holds it
    /// (blank lines and `#` comments ignored).
    public static func parse(_ text: String) throws(TableError) -> Table {
        var lines = [TableLine]()
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if words.isEmpty { continue }
            do {
                for (n, w) in words.enumerated() {
                    try TableWord.check(w, in: "table", secret: words.count > 4 && words[2] == "crypt" && n == 4)
                }
                lines.append(try TableLine.parse(words))
            } catch {
                throw TableError("line \(n + 1): \(error.message)")
            }
        }
        guard !lines.isEmpty else { throw TableError("empty table") }
        var expected: UInt64 = 0
        for l in lines.sorted(by: { $0.start < $1.start }) {
            guard l.start == expected else {
                throw TableError("targets must cover the device without gaps: a target starts at \(l.start), expected \(expected)")
            }
            expected = l.start + l.length   // both at most 2^54: no overflow
        }
        return Table(lines)
    }
}

/// Bounds on the numbers a table holds, checked when it is parsed or validated,
/// before any arithmetic on them.
public enum TableLimits {
    /// 2^63 bytes in 512-byte sectors: no block device is larger.
    public static let maxSectors: UInt64 = 1 << 54
    /// Optional-argument counts (the kernel's own parsers take far fewer).
    static let maxArguments = 64
    /// Numeric option values (block sizes, sector counts in options, intervals).
    static let maxOptionValue = Int(Int32.max)
}

extension Target {
    /// The sector offsets the target names, for range checks.
    var sectorOffsets: [(String, UInt64)] {
        switch self {
        case .crypt(let c): return [("offset", c.offset), ("iv_offset", c.ivOffset)]
        case .integrity(let i): return [("offset", i.offset)]
        case .linear(let l): return [("offset", l.offset)]
        case .flakey(let f): return [("offset", f.offset)]
        case .error, .zero: return []
        }
    }
}

extension TableLine {
    static func parse(_ words: [String]) throws(TableError) -> TableLine {
        guard words.count >= 3, let start = UInt64(words[0]), let length = UInt64(words[1]) else {
            throw TableError("want '<start> <length> <target> <arguments>'")
        }
        guard length > 0 else { throw TableError("target length is 0") }
        guard start <= TableLimits.maxSectors, length <= TableLimits.maxSectors else {
            throw TableError("start or length beyond any block device (at most \(TableLimits.maxSectors) sectors)")
        }
        var a = ArgumentReader(words: Array(words.dropFirst(3)), target: words[2])
        let target: Target
        switch words[2] {
        case "crypt": target = .crypt(try CryptTarget.parse(&a))
        case "integrity": target = .integrity(try IntegrityTarget.parse(&a))
        case "linear":
            target = .linear(LinearTarget(device: try a.word("device"), offset: try a.number("offset")))
        case "flakey":
            let device = try a.word("device")
            let offset: UInt64 = try a.number("offset")
            let up = Int(try a.number("up interval") as UInt32)
            let down = Int(try a.number("down interval") as UInt32)
            var features = [String]()
            if !a.atEnd {
                let count = try a.count("feature argument count")
                features = try (0..<count).map { _ throws(TableError) in try a.word("feature argument") }
            }
            target = .flakey(FlakeyTarget(device: device, offset: offset, upInterval: up, downInterval: down,
                                          features: features))
        case "error": target = .error
        case "zero": target = .zero
        default:
            throw TableError("target type '\(words[2])' is not supported by swcrypt (crypt, integrity, linear, flakey, error, zero)")
        }
        guard a.atEnd else { throw TableError("\(words[2]): unexpected argument '\(a.peek ?? "")'") }
        return TableLine(start: start, length: length, target: target)
    }
}

extension CryptTarget {
    static func parse(_ a: inout ArgumentReader) throws(TableError) -> CryptTarget {
        var c = CryptTarget(cipher: KernelCipher(text: try a.word("cipher")), key: try KeyReference.parse(try a.word("key")),
                            ivOffset: try a.number("iv_offset"), device: try a.word("device"),
                            offset: try a.number("offset"))
        guard !a.atEnd else { return c }
        let count = try a.count("optional argument count")
        for _ in 0..<count {
            let arg = try a.word("optional argument")
            let (name, value) = splitOption(arg)
            switch name {
            case "allow_discards": c.allowDiscards = true
            case "same_cpu_crypt": c.performance.sameCPUCrypt = true
            case "submit_from_crypt_cpus": c.performance.submitFromCryptCPUs = true
            case "no_read_workqueue": c.performance.noReadWorkqueue = true
            case "no_write_workqueue": c.performance.noWriteWorkqueue = true
            case "high_priority": c.performance.highPriority = true
            case "iv_large_sectors": c.ivLargeSectors = true
            case "integrity":
                let parts = (value ?? "").split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2, let bytes = Int(parts[0]), bytes > 0, bytes <= 4096 else {
                    throw TableError("crypt: bad '\(arg)' (want integrity:<bytes>:<type>)")
                }
                c.integrity = Integrity(bytes: bytes, type: parts[1])
            case "integrity_key_size": c.integrityKeySize = try intValue(arg, value)
            case "sector_size": c.sectorSize = try intValue(arg, value)
            default: throw TableError("crypt: unknown optional argument '\(arg)'")
            }
        }
        return c
    }
}

extension IntegrityTarget {
    static func parse(_ a: inout ArgumentReader) throws(TableError) -> IntegrityTarget {
        let device = try a.word("device")
        let offset: UInt64 = try a.number("offset")
        let tagWord = try a.word("tag size")
        // "-" means "take the tag size from the internal hash" in the kernel's grammar.
        let tagSize = tagWord == "-" ? 0 : (Int(tagWord) ?? -1)
        guard tagSize >= 0, tagSize <= 4096 else { throw TableError("integrity: bad tag size '\(tagWord)'") }
        let modeWord = try a.word("mode")
        guard modeWord.count == 1, let mode = Mode(rawValue: modeWord.first!) else {
            throw TableError("integrity: unknown mode '\(modeWord)' (J, B, D, R or I)")
        }
        var t = IntegrityTarget(device: device, offset: offset, tagSize: tagSize, mode: mode)
        let count = a.atEnd ? 0 : try a.count("optional argument count")
        for _ in 0..<count {
            let arg = try a.word("optional argument")
            let (name, value) = splitOption(arg)
            switch name {
            case "meta_device": t.metaDevice = value
            case "block_size": t.blockSize = try intValue(arg, value)
            case "recalculate": t.recalculate = true
            case "allow_discards": t.allowDiscards = true
            case "journal_sectors": t.journalSectors = try intValue(arg, value)
            case "interleave_sectors": t.interleaveSectors = try intValue(arg, value)
            case "buffer_sectors": t.bufferSectors = try intValue(arg, value)
            case "journal_watermark": t.journalWatermark = try intValue(arg, value)
            case "commit_time": t.commitTime = try intValue(arg, value)
            case "sectors_per_bit": t.sectorsPerBit = try intValue(arg, value)
            case "bitmap_flush_interval": t.bitmapFlushInterval = try intValue(arg, value)
            case "fix_padding": t.fixPadding = true
            case "fix_hmac": t.fixHmac = true
            case "legacy_recalculate": t.legacyRecalculate = true
            case "internal_hash": t.internalHash = value
            default: throw TableError("integrity: unsupported optional argument '\(arg)'")
            }
        }
        return t
    }
}

struct ArgumentReader {
    var words: [String]
    var target: String
    var index = 0

    var atEnd: Bool { index >= words.count }
    var peek: String? { atEnd ? nil : words[index] }

    mutating func word(_ what: String) throws(TableError) -> String {
        guard index < words.count else { throw TableError("\(target): missing \(what)") }
        defer { index += 1 }
        return words[index]
    }

    /// An argument count: not negative, no more than the words left.
    mutating func count(_ what: String) throws(TableError) -> Int {
        let n = Int(try number(what) as UInt16)
        guard n <= TableLimits.maxArguments, n <= words.count - index else {
            throw TableError("\(target): \(what) \(n) but \(words.count - index) arguments follow")
        }
        return n
    }

    mutating func number<T: FixedWidthInteger>(_ what: String) throws(TableError) -> T {
        let w = try word(what)
        guard let v = T(w) else { throw TableError("\(target): \(what) '\(w)' is not a number") }
        return v
    }
}

func splitOption(_ arg: String) -> (String, String?) {
    guard let colon = arg.firstIndex(of: ":") else { return (arg, nil) }
    return (String(arg[..<colon]), String(arg[arg.index(after: colon)...]))
}

func intValue(_ arg: String, _ value: String?) throws(TableError) -> Int {
    guard let value, let v = Int(value), v >= 0, v <= TableLimits.maxOptionValue else {
        throw TableError("bad '\(arg)' (want a number from 0 to \(TableLimits.maxOptionValue))")
    }
    return v
}
