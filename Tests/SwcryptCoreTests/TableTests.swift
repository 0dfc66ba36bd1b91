import XCTest
@testable import SwcryptCore

final class TableTests: XCTestCase {
    /// Mikulas Patocka's dm-crypt example for NVMe metadata (the 6.11 series' cover letter).
    func testPatockaExampleGolden() throws {
        var crypt = CryptTarget(cipher: KernelCipher(text: "capi:authenc(hmac(sha256),cbc(aes))-essiv:sha256"),
                                key: .keyring(size: 48, type: "logon", description: "swcrypt:demo"),
                                device: "/dev/nvme1n1", integrity: .init(bytes: 32, type: "aead"), sectorSize: 4096)
        crypt.ivOffset = 0
        let line = TableLine(length: 2097152, target: .crypt(crypt))
        XCTAssertEqual(try line.render(),
                       "0 2097152 crypt capi:authenc(hmac(sha256),cbc(aes))-essiv:sha256 :48:logon:swcrypt:demo 0 /dev/nvme1n1 0 2 integrity:32:aead sector_size:4096")
        XCTAssertEqual(try Table.parse(try line.render()), Table([line]))
        let c = try XCTUnwrap(crypt.cipher.cryptsetup)
        XCTAssertEqual(c.cipher.cryptsetupName, "aes-cbc-essiv:sha256")
        XCTAssertEqual(c.integrity, .hmac(.sha256))
    }

    /// cryptsetup 2.8's inline table, as `dmsetup table` prints it.
    func testCryptsetupInlineTableRoundTrip() throws {
        let text = "0 1015808 crypt capi:aegis128-random :16:logon:cryptsetup:3f1c4f5e-8d2a-4c39-9f6b-1e2d3c4b5a69-d0 0 259:1 32768 2 integrity:32:aead sector_size:4096"
        let table = try Table.parse(text)
        XCTAssertEqual(try table.render(), text)
        guard case .crypt(let c) = table.lines[0].target else { return XCTFail() }
        XCTAssertEqual(c.key, .keyring(size: 16, type: "logon", description: "cryptsetup:3f1c4f5e-8d2a-4c39-9f6b-1e2d3c4b5a69-d0"))
        XCTAssertEqual(c.offset, 32768)
        XCTAssertEqual(c.integrity, .init(bytes: 32, type: "aead"))
        XCTAssertEqual(c.cipher.cryptsetup?.cipher.cryptsetupName, "aegis128-random")
        XCTAssertEqual(c.cipher.cryptsetup?.integrity, .aead)
    }

    /// cryptsetup 2.8's dm-integrity layers, as the kernel prints them.
    func testIntegrityTablesRoundTrip() throws {
        for text in [
            "0 950000 integrity 259:2 32768 28 J 7 block_size:4096 journal_sectors:3960 interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 commit_time:10000 fix_padding",
            "0 1048576 integrity 259:1 0 4 I 7 block_size:4096 journal_sectors:0 interleave_sectors:32768 buffer_sectors:128 fix_padding fix_hmac internal_hash:crc32c",
            "0 2048 integrity 7:0 0 32 B 5 block_size:4096 interleave_sectors:32768 sectors_per_bit:8 bitmap_flush_interval:10000 fix_padding",
            "0 2048 integrity 7:0 0 32 D 0",
            "0 2048 integrity 7:0 0 32 R 2 meta_device:7:1 allow_discards",
        ] {
            XCTAssertEqual(try Table.parse(text).render(), text)
        }
    }

    func testCipherTranslations() {
        func capi(_ cipher: String, _ integrity: String?) -> String {
            KernelCipher(CipherSpec(cryptsetup: cipher)!, integrity: integrity.flatMap { IntegrityAlgorithm(cryptsetupName: $0) }).text
        }
        XCTAssertEqual(capi("aes-gcm-random", "aead"), "capi:gcm(aes)-random")
        XCTAssertEqual(capi("aegis128-random", "aead"), "capi:aegis128-random")
        XCTAssertEqual(capi("chacha20-random", "poly1305"), "capi:rfc7539(chacha20,poly1305)-random")
        XCTAssertEqual(capi("aes-xts-random", "hmac-sha256"), "capi:authenc(hmac(sha256),xts(aes))-random")
        XCTAssertEqual(capi("aes-cbc-essiv:sha256", "hmac-sha256"), "capi:authenc(hmac(sha256),cbc(aes))-essiv:sha256")
        XCTAssertEqual(capi("aes-xts-plain64", nil), "aes-xts-plain64")
        // And back.
        for text in ["capi:gcm(aes)-random", "capi:aegis128-random", "capi:rfc7539(chacha20,poly1305)-random",
                     "capi:authenc(hmac(sha256),xts(aes))-random", "capi:authenc(hmac(sha512),xts(aes))-random"] {
            let k = KernelCipher(text: text)
            let c = try! XCTUnwrap(k.cryptsetup)
            XCTAssertEqual(KernelCipher(c.cipher, integrity: c.integrity).text, text)
            XCTAssertTrue(k.isAuthenticated)
        }
        XCTAssertEqual(KernelCipher(text: "capi:xts(aes)-plain64").cryptsetup?.cipher.cryptsetupName, "aes-xts-plain64")
        XCTAssertFalse(KernelCipher(text: "aes-xts-plain64").isAuthenticated)
    }

    func testOtherTargets() throws {
        let text = """
            0 1024 linear /dev/nullb0 0
            1024 1024 flakey 7:0 0 5 5 1 drop_writes
            2048 8 error
            2056 8 zero
            """
        let t = try Table.parse(text)
        XCTAssertEqual(t.lines.count, 4)
        XCTAssertEqual(try t.render(), text)
        XCTAssertEqual(t.sectors, 2064)
        let corrupt = "0 64 flakey 7:0 0 1 1 5 corrupt_bio_byte 32 r 1 0"
        XCTAssertEqual(try Table.parse(corrupt).render(), corrupt)
    }

    func testMaskedKeys() throws {
        let t = try Table.parse("0 8 crypt aes-xts-plain64 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 0 7:0 0")
        XCTAssertFalse(try t.render(masked: true).contains("0011223344"))
        XCTAssertTrue(try t.render(masked: false).contains("0011223344"))
    }

    /// The security review's injection (issue 13.1): a cipher or hash holding
    /// spaces must never become several words of the kernel's table.
    func testRendererRefusesWordsThatWouldSplit() throws {
        let injected = "aes-xts-plain64 " + String(repeating: "0", count: 64) + " 0 259:1 0 1 allow_discards"
        var crypt = CryptTarget(cipher: KernelCipher(text: injected), key: .keyring(size: 64, type: "logon", description: "swcrypt:t1"),
                                device: "259:0")
        XCTAssertThrowsError(try TableLine(length: 8, target: .crypt(crypt)).render()) { error in
            XCTAssertTrue("\(error)".contains("white space"), "\(error)")
        }
        crypt.cipher = KernelCipher(text: "aes-xts-plain64")
        crypt.device = "/dev/x\\y"
        XCTAssertThrowsError(try TableLine(length: 8, target: .crypt(crypt)).render()) { error in
            XCTAssertTrue("\(error)".contains("backslash"), "\(error)")
        }
        var integrity = IntegrityTarget(device: "259:0", offset: 0, tagSize: 4, mode: .journal)
        integrity.internalHash = "crc32c fix_padding 1"
        XCTAssertThrowsError(try TableLine(length: 8, target: .integrity(integrity)).render())
        integrity.internalHash = "crc32c"
        XCTAssertNoThrow(try TableLine(length: 8, target: .integrity(integrity)).render())
        // A malformed hex key is refused without being quoted.
        crypt.device = "259:0"
        crypt.key = .hex("00112233\u{7}44556677")
        XCTAssertThrowsError(try TableLine(length: 8, target: .crypt(crypt)).render()) { error in
            XCTAssertFalse("\(error)".contains("00112233"), "\(error)")
        }
        XCTAssertThrowsError(try Table.parse("0 8 linear /dev/a\\b 0"))
        // cryptsetup notation: names only.
        XCTAssertNil(CipherSpec(cryptsetup: injected))
        XCTAssertNil(CipherSpec(cryptsetup: "aes-xts-plain64\tx"))
        XCTAssertNotNil(CipherSpec(cryptsetup: "aes-cbc-essiv:sha256"))
    }

    func testParseErrors() {
        let bad = [
            "", "0 8", "0 0 linear 7:0 0", "0 8 linear 7:0", "0 8 linear 7:0 x", "0 8 raid 1 2",
            "0 8 crypt aes-xts-plain64 :x:logon:a 0 7:0 0", "0 8 crypt aes-xts-plain64 zz 0 7:0 0",
            "0 8 crypt capi:gcm(aes)-random :16:logon:k 0 7:0 0 1 integrity:abc",
            "0 8 crypt capi:gcm(aes)-random :16:logon:k 0 7:0 0 1 bogus",
            "0 8 crypt capi:gcm(aes)-random :16:logon:k 0 7:0 0 2 allow_discards",
            "0 8 integrity 7:0 0 4 X 0", "0 8 linear 7:0 0 extra",
            "0 8 linear 7:0 0\n16 8 linear 7:0 8",
        ]
        for text in bad {
            XCTAssertThrowsError(try Table.parse(text), "accepted: \(text)")
        }
    }

    /// Seeded random mutations of valid tables: the parser never traps or hangs.
    func testParserFuzz() {
        var rng = SplitMix64.fresh("tables")
        let seeds = [
            "0 1015808 crypt capi:aegis128-random :16:logon:cryptsetup:x-d0 0 259:1 32768 2 integrity:32:aead sector_size:4096",
            "0 950000 integrity 259:2 32768 28 J 7 block_size:4096 journal_sectors:3960 interleave_sectors:32768 buffer_sectors:128 journal_watermark:50 commit_time:10000 fix_padding",
            "0 64 flakey 7:0 0 1 1 5 corrupt_bio_byte 32 r 1 0",
        ]
        let alphabet = Array(" :-()0123456789abcdefIJBDR\n#\t")
        for i in 0..<3000 {
            var chars = Array(seeds[i % seeds.count])
            for _ in 0..<(1 + Int(rng.next() % 6)) {
                let pos = Int(rng.next() % UInt64(chars.count))
                switch rng.next() % 3 {
                case 0: chars.remove(at: pos)
                case 1: chars.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: pos)
                default: chars[pos] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
                if chars.isEmpty { break }
            }
            if let t = try? Table.parse(String(chars)) {
                // Whatever parses renders and parses again to the same model.
                XCTAssertEqual(try? Table.parse(try t.render()), t)
            }
        }
    }

    /// Mutations that put hostile numbers (negative, 2^63, 2^64-1, 0) in every
    /// numeric field, through the parser and on into the validator against
    /// fixture devices: a refusal is fine, a trap is not (issue 13.5).
    func testNumbersThroughParserAndValidator() {
        var rng = SplitMix64.fresh("table numbers through the validator")
        let seeds = [
            "0 1015808 crypt capi:aegis128-random :16:logon:swcrypt:x 0 259:1 32768 2 integrity:32:aead sector_size:4096",
            "0 950000 integrity 259:2 32768 28 J 3 block_size:4096 journal_sectors:3960 interleave_sectors:32768",
            "0 64 flakey 7:0 0 1 1 5 corrupt_bio_byte 32 r 1 0",
            "0 2048 linear 259:1 4096",
        ]
        let hostile = ["-1", "-5", "0", "1", "9223372036854775807", "18446744073709551615", "18014398509481984",
                       "4294967295", "4096", "3", "999999999999999999999"]
        let devices = [
            blockTarget(path: "meta", logicalBlockSize: 4096, sizeBytes: 512 << 20, metadataBytes: 64, integrityFormat: "nop"),
            blockTarget(path: "plain", logicalBlockSize: 512, sizeBytes: 1 << 30),
            blockTarget(path: "empty", logicalBlockSize: 4096, sizeBytes: 0),
        ]
        let kernel = KernelTargets(["crypt": TargetVersion(1, 28), "integrity": TargetVersion(1, 13), "linear": TargetVersion(1, 4),
                                    "flakey": TargetVersion(1, 5)])
        var parsed = 0, validated = 0
        for i in 0..<4000 {
            var words = seeds[i % seeds.count].split(separator: " ").map(String.init)
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let pos = Int(rng.next() % UInt64(words.count))
                let value = hostile[Int(rng.next() % UInt64(hostile.count))]
                if let colon = words[pos].firstIndex(of: ":"), rng.next() % 2 == 0, words[pos].count > 2 {
                    words[pos] = String(words[pos][...colon]) + value   // sector_size:-1, integrity:<n>...
                } else {
                    words[pos] = value
                }
            }
            guard let table = try? Table.parse(words.joined(separator: " ")) else { continue }
            parsed += 1
            for line in table.lines {
                for d in devices {
                    if (try? TableValidator.validate(line.target, lengthSectors: line.length, on: d, kernel: kernel)) != nil {
                        validated += 1
                    }
                    if case .integrity(let it) = line.target { _ = d.underIntegrity(tagSize: it.tagSize, blockSize: it.blockSize ?? 512, lengthSectors: line.length) }
                }
            }
            _ = try? table.render()
        }
        print("fuzz: table numbers: 4000 tables, \(parsed) parsed, \(validated) line/device pairs passed the validator, no trap")
    }
}

/// A small deterministic generator for seeded fuzz tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    /// A fresh seed each run, printed so that a failure can be replayed:
    /// SWCRYPT_FUZZ_SEED=0x... swift test --filter <test>.
    static func fresh(_ test: String) -> SplitMix64 {
        let seed = ProcessInfo.processInfo.environment["SWCRYPT_FUZZ_SEED"].flatMap { UInt64($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) }
            ?? UInt64.random(in: 0...UInt64.max)
        print("fuzz: \(test): seed 0x\(String(seed, radix: 16)) (replay with SWCRYPT_FUZZ_SEED=0x\(String(seed, radix: 16)))")
        return SplitMix64(seed: seed)
    }
    mutating func next() -> UInt64 {
        state &+= 0x9e3779b97f4a7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }
}
