import Foundation
import XCTest

/// Malformed LUKS2 headers, in the spirit of cryptsetup's luks2-validation-test
/// (tests/generators/*): a header made by the reference cryptsetup 2.8 is mangled
/// (binary fields, checksums, the JSON's objects and integer limits), each copy's
/// checksum fixed where the case says so, so the mangling reaches libcryptsetup's
/// validators. Every case must give the outcome it names, one line on stderr that
/// names the image, and, where refused, nothing activated and no key left in the
/// kernel's keyring; `dump` says which copy failed and why.
///
/// Kernel-independent (libcryptsetup reads the header): `dump` of every case runs
/// on the host (Scripts/test's unit step), `open` in the stock kernel's suite.
final class HeaderCorpusIntegrationTests: XCTestCase {
    enum Outcome: Equatable, CustomStringConvertible {
        /// Both copies refused: exit 4, "damaged LUKS2 header: primary copy: ...; secondary copy: ...".
        case refused
        /// No LUKS2 magic in either copy: exit 4, "no LUKS2 header here".
        case noHeader
        /// One copy damaged: libcryptsetup rewrites it from the other; a warning
        /// names it; the volume opens; a second read finds both copies valid.
        case repaired(String)
        /// Valid (an unusual but allowed header): opens.
        case opens
        /// libcryptsetup reads it (dump shows it, silently), the damage is in a part
        /// it checks only when used (a keyslot, a digest): open exits with this code
        /// (0: the other keyslot opened it).
        case loads(open: Int32)
        /// A mandatory requirement libcryptsetup does not know: dump shows it, open exits 1.
        case unmetRequirement
        /// libcryptsetup reads it and would unlock it with any passphrase
        /// (LUKS2MetadataCheck): dump shows it with a warning, open refuses (exit 4).
        case unsafeDigest

        var description: String {
            switch self {
            case .refused: return "refused"
            case .noHeader: return "no header"
            case .repaired(let copy): return "\(copy) repaired"
            case .opens: return "opens"
            case .loads(let code): return "loads, open exits \(code)"
            case .unmetRequirement: return "unmet requirement"
            case .unsafeDigest: return "unsafe digest"
            }
        }
    }

    struct Case {
        var name: String
        var outcome: Outcome
        var mangle: (inout HeaderImage) throws -> Void
    }

    var dir = ""
    var cryptsetup = ""
    var loops = [String]()
    let keyFile = "corpus.key"

    override func setUpWithError() throws {
        cryptsetup = try VM.referenceCryptsetup()
    }

    /// The dump half reads files only: it runs on the host, in Scripts/test's unit
    /// step (as root or not), and skips in the VM, where it would take minutes.
    func requireHost() throws {
        guard ProcessInfo.processInfo.environment["SWCRYPT_VM"] != "1" else {
            throw XCTSkip("skipped, because dump of the corpus reads files only and runs on the host in Scripts/test's unit step")
        }
        guard FileManager.default.isExecutableFile(atPath: VM.swcrypt) else {
            throw XCTSkip("skipped, because \(VM.swcrypt) is not built (swift build)")
        }
        dir = NSTemporaryDirectory() + "swcrypt-corpus-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// The open half needs loop devices and device-mapper: the VM, stock kernel.
    func requireVM() throws {
        try VM.require()
        guard VM.kernelKind == "stock" else {
            throw XCTSkip("skipped, because the header corpus does not depend on the kernel and runs in the stock kernel's suite")
        }
        try VM.loadModules("dm-crypt", "loop")
        dir = try VM.tempDir()
    }

    override func tearDownWithError() throws {
        for loop in loops { _ = try? execute(["losetup", "-d", loop]) }
        if !dir.isEmpty { _ = try? sh("rm -rf \(dir)") }
    }

    /// The base: LUKS2, aes-xts, pbkdf2 at 1000 iterations (cheap), two keyslots
    /// with the same passphrase, one token naming keyslot 1.
    func makeBase() throws -> String {
        let base = "\(dir)/base.img", key = "\(dir)/\(keyFile)"
        try must(["bash", "-c", "printf 'corpus passphrase' > \(key); truncate -s 20M \(base)"])
        let pbkdf = ["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"]
        try must([cryptsetup, "luksFormat", "--type", "luks2", "--batch-mode", "--key-file", key] + pbkdf + [base])
        try must([cryptsetup, "luksAddKey", "--batch-mode", "--key-file", key, "--new-keyfile", key] + pbkdf + [base])
        try must(["bash", "-c", "printf '{\"type\":\"swcrypt-corpus\",\"keyslots\":[\"1\"]}' > \(dir)/token.json"])
        try must([cryptsetup, "token", "import", "--json-file", "\(dir)/token.json", base])
        return base
    }

    /// One case's image: the base with its first two header copies replaced.
    func image(_ c: Case, base: String, suffix: String) throws -> String {
        let path = "\(dir)/\(c.name)-\(suffix).img"
        try must(["cp", "--sparse=always", base, path])
        var header = try HeaderImage(readingFrom: path)
        try c.mangle(&header)
        try header.write(to: path)
        return path
    }

    func stderrLines(_ r: Result) -> [String] {
        r.stderr.split(separator: "\n").map(String.init)
    }

    func keyringEntries() throws -> [String] {
        try must(["cat", "/proc/keys"]).lines.filter { $0.contains("swcrypt:") || $0.contains("cryptsetup:") }
    }

    /// `dump`: the outcome, one line naming the image, and what each copy was.
    func testDumpGivesEachCaseOneLineAndItsOutcome() throws {
        try requireHost()
        let base = try makeBase()
        let cases = Self.cases
        XCTAssertGreaterThanOrEqual(cases.count, 60, "the corpus")
        var table = [String]()
        for c in cases {
            let path = try image(c, base: base, suffix: "dump")
            let r = try swcrypt("dump", path)
            let err = stderrLines(r)
            let context = "\(c.name) (\(c.outcome)): exit \(r.status), stderr \(err)"
            table.append("header-corpus: \(c.name): exit \(r.status) \(err.first ?? "")")
            defer { try? FileManager.default.removeItem(atPath: path) }
            switch c.outcome {
            case .refused, .noHeader:
                XCTAssertEqual(r.status, 4, context)
                XCTAssertEqual(err.count, 1, context)
                XCTAssertTrue(err.first?.hasPrefix("swcrypt: \(path): ") == true, context)
                XCTAssertTrue(r.stdout.isEmpty, context)
                if c.outcome == .noHeader {
                    XCTAssertTrue(r.stderr.contains("no LUKS2 header here"), context)
                } else {
                    XCTAssertTrue(r.stderr.contains("damaged LUKS2 header: primary copy: ") && r.stderr.contains("; secondary copy: "), context)
                    XCTAssertFalse(r.stderr.contains("copy: not examined"), context)
                }
            case .repaired(let copy):
                XCTAssertEqual(r.status, 0, context)
                XCTAssertEqual(err, [err.first ?? ""], context)
                XCTAssertTrue(err.first?.hasPrefix("warning: \(path): the \(copy) LUKS2 header copy was ") == true, context)
                XCTAssertTrue(err.first?.hasSuffix("libcryptsetup rewrote it from the \(copy == "primary" ? "secondary" : "primary") copy") == true, context)
                XCTAssertTrue(r.stdout.contains("type:        LUKS2"), context)
                // The rewrite happened: both copies are valid now (libcryptsetup
                // recomputed the secondary's or primary's checksum).
                let again = try swcrypt("dump", path)
                XCTAssertEqual(again.status, 0, "\(c.name): second dump: \(again.stderr)")
                XCTAssertEqual(again.stderr, "", "\(c.name): second dump still repairs")
                try must([cryptsetup, "isLuks", "--type", "luks2", path])
            case .opens, .loads:
                XCTAssertEqual(r.status, 0, context)
                XCTAssertEqual(r.stderr, "", context)
                XCTAssertTrue(r.stdout.contains("type:        LUKS2"), context)
            case .unmetRequirement:
                XCTAssertEqual(r.status, 0, context)
                XCTAssertTrue(r.stdout.contains("requirements: unknown"), context)
            case .unsafeDigest:
                XCTAssertEqual(r.status, 0, context)
                XCTAssertEqual(err.count, 1, context)
                XCTAssertTrue(err.first?.hasPrefix("warning: \(path): damaged LUKS2 header: digest 0") == true, context)
                XCTAssertTrue(err.first?.hasSuffix("swcrypt will not open it or change its keys") == true, context)
                XCTAssertTrue(r.stdout.contains("type:        LUKS2"), context)
            }
        }
        // One line per case, each prefixed (Scripts/test's summary greps "failed").
        print("header-corpus: \(cases.count) cases\n" + table.joined(separator: "\n"))
    }

    /// `open` through a loop device: refused cases leave no mapping and no key.
    func testOpenActivatesNothingFromADamagedHeader() throws {
        try requireVM()
        defer {
            for name in (try? dmNames()) ?? [] where name.hasPrefix("corpus-") { _ = try? execute(["dmsetup", "remove", name]) }
        }
        let base = try makeBase()
        let keysBefore = try keyringEntries()
        for (i, c) in Self.cases.enumerated() {
            let path = try image(c, base: base, suffix: "open")
            let loop = try must(["losetup", "--find", "--show", path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            loops.append(loop)
            let name = "corpus-\(i)"
            let r = try swcrypt("open", loop, name, "--key-file", "\(dir)/\(keyFile)")
            // The base's token has no handler here: open says so and uses the key file, as intended.
            let err = stderrLines(r).filter { !$0.hasPrefix("warning: no token opened the volume") }
            let context = "\(c.name) (\(c.outcome)): exit \(r.status), stderr \(err)"
            let mapped = try dmNames().contains(name)
            switch c.outcome {
            case .loads(let code) where code != 0:
                XCTAssertEqual(r.status, code, context)
                XCTAssertEqual(err.count, 1, context)
                XCTAssertTrue(err.first?.hasPrefix("swcrypt: \(loop): ") == true, context)
                XCTAssertFalse(mapped, "\(context): a mapping was left")
            case .refused, .noHeader, .unmetRequirement, .unsafeDigest:
                XCTAssertEqual(r.status, c.outcome == .unmetRequirement ? 1 : 4, context)
                if c.outcome == .unsafeDigest { XCTAssertTrue(r.stderr.contains("damaged LUKS2 header: digest 0"), context) }
                XCTAssertEqual(err.count, 1, context)
                XCTAssertTrue(err.first?.hasPrefix("swcrypt: \(loop): ") == true, context)
                XCTAssertFalse(mapped, "\(context): a mapping was left")
            case .repaired, .opens, .loads:
                XCTAssertEqual(r.status, 0, context)
                XCTAssertTrue(mapped, "\(context): no mapping")
                if case .repaired(let copy) = c.outcome {
                    XCTAssertTrue(err.count == 1 && err[0].contains("the \(copy) LUKS2 header copy was "), context)
                }
                let close = try swcrypt("close", name)
                XCTAssertEqual(close.status, 0, "\(c.name): close: \(close.stderr)")
            }
            XCTAssertEqual(try keyringEntries(), keysBefore, "\(c.name): a key was left in the keyring")
            try must(["losetup", "-d", loop])
            loops.removeAll { $0 == loop }
            try FileManager.default.removeItem(atPath: path)
        }
        XCTAssertFalse(try dmNames().contains { $0.hasPrefix("corpus-") }, "mappings left")
    }
}

/// The first two LUKS2 header copies of an image (16 KiB each, as cryptsetup
/// makes them by default), with the binary header's fields and the JSON area.
struct HeaderImage {
    static let copySize = 16384
    static let binarySize = 4096
    var bytes: [UInt8]

    init(readingFrom path: String) throws {
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: path))
        defer { try? handle.close() }
        bytes = [UInt8](try handle.read(upToCount: 2 * Self.copySize) ?? Data())
        XCTAssertEqual(bytes.count, 2 * Self.copySize)
        XCTAssertEqual(Array(bytes[0..<6]), [0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE], "LUKS magic")
    }

    func write(to path: String) throws {
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: Data(bytes))
    }

    static func offset(_ copy: Int) -> Int { copy * copySize }

    /// Raw bytes at `field` offset of a copy (no checksum update).
    mutating func poke(_ copy: Int, at field: Int, _ value: [UInt8]) {
        let o = Self.offset(copy) + field
        bytes.replaceSubrange(o..<(o + value.count), with: value)
    }

    mutating func pokeBigEndian(_ copy: Int, at field: Int, _ value: UInt64, width: Int) {
        poke(copy, at: field, (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64(width - 1 - $0))) })
    }

    /// The checksum field (sha256 over the copy with the field zeroed), as
    /// libcryptsetup computes it; run after every change that must reach the validators.
    mutating func fixChecksum(_ copy: Int) throws {
        let o = Self.offset(copy)
        bytes.replaceSubrange((o + 448)..<(o + 512), with: [UInt8](repeating: 0, count: 64))
        let tmp = NSTemporaryDirectory() + "corpus-\(UUID().uuidString)"
        try Data(bytes[o..<(o + Self.copySize)]).write(to: URL(fileURLWithPath: tmp))
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let hex = try must(["sha256sum", tmp]).stdout.prefix(64)
        var digest = [UInt8]()
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            digest.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        bytes.replaceSubrange((o + 448)..<(o + 448 + 32), with: digest)
    }

    /// The JSON text of a copy (up to its first NUL).
    func jsonText(_ copy: Int) -> [UInt8] {
        let area = bytes[(Self.offset(copy) + Self.binarySize)..<(Self.offset(copy) + Self.copySize)]
        return Array(area.prefix { $0 != 0 })
    }

    func json(_ copy: Int = 0) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(jsonText(copy))) as? [String: Any])
    }

    /// Replaces a copy's JSON area (NUL-padded) and fixes its checksum.
    mutating func setJSONText(_ text: [UInt8], copies: [Int] = [0, 1], checksum: Bool = true) throws {
        let areaSize = Self.copySize - Self.binarySize
        precondition(text.count <= areaSize, "JSON text larger than the area")
        for copy in copies {
            let o = Self.offset(copy) + Self.binarySize
            bytes.replaceSubrange(o..<(o + areaSize), with: text + [UInt8](repeating: 0, count: areaSize - text.count))
            if checksum { try fixChecksum(copy) }
        }
    }

    mutating func setJSON(_ object: [String: Any], copies: [Int] = [0, 1]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        try setJSONText([UInt8](data), copies: copies)
    }

    /// Edits the JSON at a key path (nil removes the key) in both copies.
    mutating func edit(_ path: [String], _ value: Any?, copies: [Int] = [0, 1]) throws {
        var object = try json()
        Self.set(&object, path[...], value)
        try setJSON(object, copies: copies)
    }

    static func set(_ object: inout [String: Any], _ path: ArraySlice<String>, _ value: Any?) {
        guard let key = path.first else { return }
        if path.count == 1 {
            object[key] = value
            return
        }
        var inner = object[key] as? [String: Any] ?? [:]
        set(&inner, path.dropFirst(), value)
        object[key] = inner
    }
}

extension HeaderCorpusIntegrationTests {
    typealias C = Case
    static let uint64Max = "18446744073709551615"

    static func editing(_ name: String, _ outcome: Outcome, _ path: [String], _ value: Any?) -> Case {
        Case(name: name, outcome: outcome) { try $0.edit(path, value) }
    }

    static var cases: [Case] { binaryCases + topLevelCases + keyslotCases + segmentCases + digestCases + tokenCases + configCases + validCases }

    /// Binary header fields and checksums.
    static var binaryCases: [Case] { [
        C(name: "checksum-primary", outcome: .repaired("primary")) { $0.poke(0, at: 5000, [0x58]) },
        C(name: "checksum-secondary", outcome: .repaired("secondary")) { $0.poke(1, at: 5000, [0x58]) },
        C(name: "checksum-both", outcome: .refused) { $0.poke(0, at: 5000, [0x58]); $0.poke(1, at: 5000, [0x58]) },
        C(name: "checksum-field-zeroed-both", outcome: .refused) {
            $0.poke(0, at: 448, [UInt8](repeating: 0, count: 64)); $0.poke(1, at: 448, [UInt8](repeating: 0, count: 64))
        },
        C(name: "magic-primary", outcome: .repaired("primary")) { $0.poke(0, at: 0, Array("XXXXXX".utf8)) },
        C(name: "magic-secondary", outcome: .repaired("secondary")) { $0.poke(1, at: 0, Array("XXXXXX".utf8)) },
        C(name: "magic-both", outcome: .noHeader) { $0.poke(0, at: 0, Array("XXXXXX".utf8)); $0.poke(1, at: 0, Array("XXXXXX".utf8)) },
        C(name: "zeroed-both", outcome: .noHeader) { $0.bytes = [UInt8](repeating: 0, count: $0.bytes.count) },
        C(name: "version-3-both", outcome: .refused) {
            for c in 0...1 { $0.pokeBigEndian(c, at: 6, 3, width: 2); try $0.fixChecksum(c) }
        },
        C(name: "version-1-primary", outcome: .noHeader) { $0.pokeBigEndian(0, at: 6, 1, width: 2); try $0.fixChecksum(0) },
        C(name: "hdr-size-odd-both", outcome: .refused) {
            for c in 0...1 { $0.pokeBigEndian(c, at: 8, 12345, width: 8); try $0.fixChecksum(c) }
        },
        C(name: "hdr-size-huge-both", outcome: .refused) {
            for c in 0...1 { $0.pokeBigEndian(c, at: 8, UInt64.max, width: 8); try $0.fixChecksum(c) }
        },
        C(name: "hdr-size-mismatch-primary", outcome: .repaired("primary")) { $0.pokeBigEndian(0, at: 8, 32768, width: 8); try $0.fixChecksum(0) },
        C(name: "hdr-offset-wrong-secondary", outcome: .repaired("secondary")) { $0.pokeBigEndian(1, at: 256, 0, width: 8); try $0.fixChecksum(1) },
        C(name: "hdr-offset-wrong-both", outcome: .refused) {
            for c in 0...1 { $0.pokeBigEndian(c, at: 256, 8192, width: 8); try $0.fixChecksum(c) }
        },
        C(name: "seqid-older-primary", outcome: .repaired("primary")) {
            // Both copies valid, the primary older: the newer (secondary) wins.
            $0.pokeBigEndian(0, at: 16, 1, width: 8); try $0.fixChecksum(0)
        },
        C(name: "csum-alg-unknown-both", outcome: .refused) {
            for c in 0...1 { $0.poke(c, at: 72, Array("md17".utf8) + [UInt8](repeating: 0, count: 28)); try $0.fixChecksum(c) }
        },
        C(name: "uuid-garbage-both", outcome: .loads(open: 1)) {
            for c in 0...1 { $0.poke(c, at: 168, Array("not-a-uuid-at-all".utf8) + [UInt8](repeating: 0, count: 23)); try $0.fixChecksum(c) }
        },
        C(name: "label-unterminated-both", outcome: .loads(open: 0)) {
            for c in 0...1 { $0.poke(c, at: 24, [UInt8](repeating: 0x41, count: 48)); try $0.fixChecksum(c) }
        },
    ] }

    /// The JSON text and its top-level objects.
    static var topLevelCases: [Case] { [
        C(name: "json-truncated", outcome: .refused) { try $0.setJSONText(Array("{\"keyslots\":{".utf8)) },
        C(name: "json-opening-char", outcome: .refused) { h in
            var t = h.jsonText(0); t[0] = UInt8(ascii: "[")
            try h.setJSONText(t)
        },
        C(name: "json-array-top", outcome: .refused) { try $0.setJSONText(Array("[1,2,3]".utf8)) },
        C(name: "json-empty", outcome: .refused) { try $0.setJSONText([]) },
        C(name: "json-garbage-beyond", outcome: .refused) { h in
            try h.setJSONText(h.jsonText(0) + [0, 0x41, 0x42, 0x43])
        },
        C(name: "json-second-object-beyond", outcome: .refused) { h in
            try h.setJSONText(h.jsonText(0) + Array("{}".utf8))
        },
        editing("missing-keyslots", .refused, ["keyslots"], nil),
        editing("missing-segments", .refused, ["segments"], nil),
        editing("missing-digests", .refused, ["digests"], nil),
        editing("missing-tokens", .refused, ["tokens"], nil),
        editing("missing-config", .refused, ["config"], nil),
        editing("unknown-top-object", .loads(open: 0), ["frobs"], [String: Any]()),
        editing("keyslots-array", .refused, ["keyslots"], [Any]()),
        editing("segments-string", .refused, ["segments"], "0"),
    ] }

    static var keyslotCases: [Case] { [
        editing("keyslot-id-negative", .refused, ["keyslots", "-1"], ["type": "luks2"]),
        editing("keyslot-id-32", .refused, ["keyslots", "32"], ["type": "luks2"]),
        editing("keyslot-missing-type", .refused, ["keyslots", "0", "type"], nil),
        editing("keyslot-unknown-type", .loads(open: 0), ["keyslots", "0", "type"], "luks3"),
        editing("keyslot-area-in-binary-header", .refused, ["keyslots", "0", "area", "offset"], "4096"),
        editing("keyslot-area-overlaps-other", .refused, ["keyslots", "1", "area", "offset"], "32768"),
        editing("keyslot-area-beyond-keyslots-area", .refused, ["keyslots", "0", "area", "offset"], "16777216"),
        editing("keyslot-area-size-zero", .refused, ["keyslots", "0", "area", "size"], "0"),
        editing("keyslot-area-size-uint64-max", .refused, ["keyslots", "0", "area", "size"], uint64Max),
        editing("keyslot-area-offset-not-number", .refused, ["keyslots", "0", "area", "offset"], "12ab"),
        editing("keyslot-key-size-negative", .refused, ["keyslots", "0", "key_size"], -1),
        editing("keyslot-key-size-huge", .refused, ["keyslots", "0", "key_size"], 4_294_967_297),
        editing("keyslot-kdf-unknown", .loads(open: 1), ["keyslots", "0", "kdf", "type"], "scrypt"),
        editing("keyslot-pbkdf2-leftover-memory", .loads(open: 0), ["keyslots", "0", "kdf", "memory"], 1024),
        editing("keyslot-pbkdf2-iterations-zero", .loads(open: 1), ["keyslots", "0", "kdf", "iterations"], 0),
        editing("keyslot-kdf-salt-not-base64", .loads(open: 1), ["keyslots", "0", "kdf", "salt"], "@@@"),
        editing("keyslot-af-stripes-zero", .loads(open: 0), ["keyslots", "0", "af", "stripes"], 0),
        editing("keyslot-af-unknown", .refused, ["keyslots", "0", "af", "type"], "luks9"),
        editing("keyslot-priority-7", .loads(open: 0), ["keyslots", "0", "priority"], 7),
        editing("keyslot-area-type-unknown", .refused, ["keyslots", "0", "area", "type"], "cooked"),
    ] }

    static var segmentCases: [Case] { [
        editing("segment-missing-offset", .refused, ["segments", "0", "offset"], nil),
        editing("segment-missing-size", .refused, ["segments", "0", "size"], nil),
        editing("segment-missing-type", .refused, ["segments", "0", "type"], nil),
        editing("segment-missing-encryption", .refused, ["segments", "0", "encryption"], nil),
        editing("segment-offset-unaligned", .refused, ["segments", "0", "offset"], "16777217"),
        editing("segment-offset-in-keyslots-area", .refused, ["segments", "0", "offset"], "32768"),
        editing("segment-offset-negative", .refused, ["segments", "0", "offset"], "-4096"),
        editing("segment-offset-uint64-max", .refused, ["segments", "0", "offset"], uint64Max),
        editing("segment-size-unaligned", .refused, ["segments", "0", "size"], "4097"),
        editing("segment-size-uint64-max", .refused, ["segments", "0", "size"], uint64Max),
        editing("segment-size-uint64-overflow", .refused, ["segments", "0", "size"], "18446744073709551616"),
        editing("segment-size-signed", .refused, ["segments", "0", "size"], "-512"),
        editing("segment-sector-size-1000", .refused, ["segments", "0", "sector_size"], 1000),
        editing("segment-sector-size-65536", .loads(open: 1), ["segments", "0", "sector_size"], 65536),
        editing("segment-iv-tweak-not-number", .refused, ["segments", "0", "iv_tweak"], "x"),
        editing("segment-flags-not-array", .refused, ["segments", "0", "flags"], "backup"),
        editing("segment-flags-element-number", .refused, ["segments", "0", "flags"], [1]),
        editing("segment-integrity-missing-journal", .refused, ["segments", "0", "integrity"], ["type": "aead"]),
        editing("segment-id-not-number", .refused, ["segments", "x"], ["type": "linear", "offset": "0", "size": "512"]),
        C(name: "segment-two-overlapping", outcome: .refused) { h in
            var j = try h.json()
            var segments = j["segments"] as! [String: Any]
            segments["1"] = segments["0"]
            j["segments"] = segments
            try h.setJSON(j)
        },
    ] }

    static var digestCases: [Case] { [
        editing("digest-missing-keyslot", .refused, ["digests", "0", "keyslots"], ["0", "1", "3"]),
        editing("digest-missing-segment", .refused, ["digests", "0", "segments"], ["5"]),
        editing("digest-keyslots-not-array", .refused, ["digests", "0", "keyslots"], "0"),
        editing("digest-unknown-type", .loads(open: 1), ["digests", "0", "type"], "md5"),
        // libcryptsetup 2.8.8 accepts these three and then unlocks with any passphrase; swcrypt refuses them (LUKS2MetadataCheck).
        editing("digest-missing-digest", .unsafeDigest, ["digests", "0", "digest"], nil),
        editing("digest-salt-16-bytes", .unsafeDigest, ["digests", "0", "salt"], "AAAAAAAAAAAAAAAAAAAAAA=="),
        editing("digest-6-bytes", .unsafeDigest, ["digests", "0", "digest"], "AAAAAAAA"),
        // 24 bytes: within 20-64, but neither 20 nor sha256's 32.
        editing("digest-24-bytes", .unsafeDigest, ["digests", "0", "digest"], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        C(name: "digest-none", outcome: .refused) { try $0.edit(["digests"], [String: Any]()) },
        C(name: "keyslot-two-digests", outcome: .refused) { h in
            var j = try h.json()
            var digests = j["digests"] as! [String: Any]
            var second = digests["0"] as! [String: Any]
            second["segments"] = [String]()
            digests["1"] = second
            j["digests"] = digests
            try h.setJSON(j)
        },
    ] }

    static var tokenCases: [Case] { [
        editing("token-missing-keyslot", .refused, ["tokens", "0", "keyslots"], ["7"]),
        editing("token-missing-type", .refused, ["tokens", "0", "type"], nil),
        editing("token-keyslots-not-array", .refused, ["tokens", "0", "keyslots"], "1"),
        editing("token-id-not-number", .refused, ["tokens", "abc"], ["type": "x", "keyslots": [String]()]),
        editing("token-not-object", .refused, ["tokens", "0"], "token"),
    ] }

    static var configCases: [Case] { [
        editing("config-json-size-smaller", .refused, ["config", "json_size"], "4096"),
        editing("config-json-size-larger", .refused, ["config", "json_size"], "16384"),
        editing("config-json-size-number", .refused, ["config", "json_size"], 12288),
        editing("config-keyslots-size-unaligned", .refused, ["config", "keyslots_size"], "12345"),
        editing("config-keyslots-size-beyond-data", .refused, ["config", "keyslots_size"], "33554432"),
        editing("config-requirements-not-array", .refused, ["config", "requirements", "mandatory"], "frob"),
        editing("config-flags-element-number", .refused, ["config", "flags"], [7]),
        editing("config-requirement-unknown", .unmetRequirement, ["config", "requirements"], ["mandatory": ["frobnicate"]]),
    ] }

    /// Unusual but valid: these must open.
    static var validCases: [Case] { [
        C(name: "unchanged", outcome: .opens) { _ in },
        editing("token-unknown-type", .opens, ["tokens", "0", "type"], "frob"),
        editing("config-flag-unknown", .opens, ["config", "flags"], ["frob-flag"]),
        editing("keyslot-priority-ignore", .opens, ["keyslots", "1", "priority"], 0),
        C(name: "json-fills-the-area", outcome: .opens) { h in
            // A token padded so that the JSON text fills the area but for its one trailing NUL.
            var j = try h.json()
            var tokens = j["tokens"] as! [String: Any]
            tokens["1"] = ["type": "swcrypt-pad", "keyslots": [String](), "pad": ""]
            j["tokens"] = tokens
            let without = try JSONSerialization.data(withJSONObject: j, options: [.sortedKeys, .withoutEscapingSlashes]).count
            tokens["1"] = ["type": "swcrypt-pad", "keyslots": [String](), "pad": String(repeating: "x", count: HeaderImage.copySize - HeaderImage.binarySize - without - 1)]
            j["tokens"] = tokens
            try h.setJSON(j)
        },
    ] }
}
