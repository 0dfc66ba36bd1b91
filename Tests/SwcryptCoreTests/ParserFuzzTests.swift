import XCTest
@testable import SwcryptCore
@testable import SwcryptSystem

/// Seeded random inputs for the parsers that read what users, the kernel and
/// devices hand swcrypt: cipher specifications, sysfs values, mountinfo, kernel
/// config text, target versions, dm UUIDs. No input may trap or hang; what
/// parses must be consistent. (Tables and NVMe identify data have their own
/// fuzz tests in TableTests and IdentifyTests.) Each test reports its count.
final class ParserFuzzTests: XCTestCase {
    private func mutate(_ seed: String, _ alphabet: [Character], _ rng: inout SplitMix64) -> String {
        var chars = Array(seed)
        for _ in 0..<(1 + Int(rng.next() % 5)) {
            if chars.isEmpty { chars.append(alphabet[0]); continue }
            let pos = Int(rng.next() % UInt64(chars.count))
            switch rng.next() % 3 {
            case 0: chars.remove(at: pos)
            case 1: chars.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: pos)
            default: chars[pos] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            }
        }
        return String(chars)
    }

    func testCipherSpecifications() {
        var rng = SplitMix64.fresh("cipher specifications")
        let seeds = ["aegis128-random", "aes-gcm-random", "aes-xts-plain64", "chacha20-random", "aes-cbc-essiv:sha256",
                     "capi:gcm(aes)-random", "capi:authenc(hmac(sha256),xts(aes))-random", "capi:rfc7539(chacha20,poly1305)-random"]
        let alphabet = Array("-:(),aesgcmxtsrandomplain64capi0123456789 \u{0}é")
        var parsed = 0
        for i in 0..<5000 {
            let text = mutate(seeds[i % seeds.count], alphabet, &rng)
            if let spec = CipherSpec(cryptsetup: text) {
                parsed += 1
                // A spec that parses names its parts again the same way.
                XCTAssertEqual(CipherSpec(cryptsetup: spec.cryptsetupName), spec, text)
            }
            let k = KernelCipher(text: text)
            _ = (k.algorithm, k.ivGenerator, k.isAuthenticated)
            _ = IntegrityAlgorithm(cryptsetupName: text)
        }
        print("fuzz: cipher specifications: 5000 inputs, \(parsed) parsed, no trap")
    }

    func testKernelTextParsers() {
        var rng = SplitMix64.fresh("kernel text parsers")
        let versions = ["1.28.0", "1.13.0", "4.48.0", "1.2.3"]
        let mountinfo = "36 35 259:1 / /mnt rw,relatime shared:1 - ext4 /dev/nvme0n1 rw\n37 35 253:0 / /data rw - xfs /dev/mapper/x rw"
        let config = "CONFIG_BLK_INLINE_ENCRYPTION=y\nCONFIG_BLK_INLINE_ENCRYPTION_FALLBACK=y\n# CONFIG_X is not set"
        let uuid = "SWCRYPT-CRYPT-0123456789abcdef-name"
        let alphabet = Array("0123456789.:-/ \n\tyCONFIGabcdefSWCRYPT_=#")
        for i in 0..<4000 {
            if let v = TargetVersion(parsing: mutate(versions[i % versions.count], alphabet, &rng)) {
                XCTAssertEqual(TargetVersion(parsing: v.description), v)
            }
            for e in MountEntry.parse(mutate(mountinfo, alphabet, &rng)) { _ = (e.major, e.minor, e.mountPoint) }
            _ = BlkCryptoFallback.parse(config: mutate(config, alphabet, &rng), source: "fuzz").summary
            if let p = StackNaming.parse(uuid: mutate(uuid, alphabet, &rng)) {
                XCTAssertEqual(p.stack.count, 16)
            }
        }
        print("fuzz: kernel text parsers (target versions, mountinfo, kernel config, dm uuids): 16000 inputs, no trap")
    }

    /// sysfs values are whatever the kernel (or a broken driver) writes: random
    /// bytes in every file of a queue/crypto directory and a namespace.
    func testSysfsValues() throws {
        let root = NSTemporaryDirectory() + "swcrypt-fuzz-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var rng = SplitMix64.fresh("sysfs values")
        let fm = FileManager.default
        func randomText() -> String {
            let pool = Array("0x123456789abcdefABCDEF \n-")
            return String((0..<Int(rng.next() % 24)).map { _ in pool[Int(rng.next() % UInt64(pool.count))] })
        }
        let dev = "\(root)/devices/virtual/block/fz0"
        try fm.createDirectory(atPath: "\(dev)/queue/crypto/modes", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(dev)/integrity", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(root)/class/block", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: "\(root)/class/block/fz0", withDestinationPath: "../../devices/virtual/block/fz0")
        let files = ["dev", "size", "nsid", "metadata_bytes", "integrity/format", "integrity/tag_size",
                     "queue/logical_block_size", "queue/physical_block_size", "queue/crypto/max_dun_bits",
                     "queue/crypto/num_keyslots", "queue/crypto/modes/AES-256-XTS", "queue/crypto/modes/Adiantum"]
        let sysfs = Sysfs(root: root, procRoot: root + "/proc")
        var devices = 0
        for _ in 0..<400 {
            for f in files { try randomText().write(toFile: "\(dev)/\(f)", atomically: false, encoding: .utf8) }
            // Half the time a well-formed dev number, so the other values get read.
            if rng.next() % 2 == 0 { try "259:\(rng.next() % 64)\n".write(toFile: "\(dev)/dev", atomically: false, encoding: .utf8) }
            if let d = sysfs.blockDevice(name: "fz0") {
                devices += 1
                _ = (d.kindDescription, d.metadataBytes, d.integrity)
            }
            if let c = sysfs.inlineCrypto(at: "\(dev)/queue/crypto") {
                _ = c.summary
                XCTAssertTrue(c.modes.allSatisfy { $0.dataUnitSizes.allSatisfy { $0 > 0 } })
            }
        }
        print("fuzz: sysfs values: 400 random device trees, \(devices) read as block devices, no trap")
    }
}
