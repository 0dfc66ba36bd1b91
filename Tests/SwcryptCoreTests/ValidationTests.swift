import XCTest
@testable import SwcryptCore

final class ValidationTests: XCTestCase {
    let kernel612 = KernelTargets(["crypt": TargetVersion(1, 28, 0), "integrity": TargetVersion(1, 13, 0),
                                   "linear": TargetVersion(1, 4, 0), "flakey": TargetVersion(1, 5, 0)])
    let kernel66 = KernelTargets(["crypt": TargetVersion(1, 25, 0), "integrity": TargetVersion(1, 10, 0),
                                  "linear": TargetVersion(1, 4, 0)])
    let ns64 = blockTarget(path: "/dev/nvme0n1", logicalBlockSize: 4096, sizeBytes: 512 << 20, metadataBytes: 64,
                           integrityFormat: "nop")
    let ns16 = blockTarget(path: "/dev/nvme0n1", logicalBlockSize: 4096, sizeBytes: 512 << 20, metadataBytes: 16,
                           integrityFormat: "nop")
    let plain = blockTarget(path: "/dev/nullb0", logicalBlockSize: 512, sizeBytes: 256 << 20)
    let pi = blockTarget(path: "/dev/sda", logicalBlockSize: 4096, sizeBytes: 64 << 20, metadataBytes: 8,
                         integrityFormat: "T10-DIF-TYPE1-CRC", integrityTagSize: 2)

    func crypt(_ cipher: String, _ integrity: String?, bytes: Int? = nil, sectorSize: Int? = 4096,
               key: KeyReference = .keyring(size: 16, type: "logon", description: "swcrypt:t")) -> CryptTarget {
        let spec = CipherSpec(cryptsetup: cipher)!
        let alg = integrity.flatMap { IntegrityAlgorithm(cryptsetupName: $0) }
        let needed = alg.map { AuthenticatedCipher(cipher: spec, integrity: $0).metadataBytes }
        return CryptTarget(cipher: KernelCipher(spec, integrity: alg), key: key, device: "/dev/nvme0n1",
                           integrity: (bytes ?? needed).map { .init(bytes: $0, type: "aead") }, sectorSize: sectorSize)
    }

    func message(_ target: Target, length: UInt64 = 8192, on device: BlockTarget, kernel: KernelTargets? = nil,
                 policy: ValidationPolicy = .init()) -> String? {
        do {
            try TableValidator.validate(target, lengthSectors: length, on: device, kernel: kernel ?? kernel612, policy: policy)
            return nil
        } catch {
            return error.description
        }
    }

    /// Malformed keyring references in `map table` text (issue 17.3): refused where
    /// parsed, or by the validator when well-formed but not a key dm-crypt should load.
    func testKeyringReferences() {
        for bad in [":abc:logon:x", "::logon:x", ":16::x", ":16:logon:", ":0:logon:x", ":-16:logon:x", ":16:logon",
                    ":99999999999999999999:logon:x", ":", ":16", "16:logon:x"] {
            XCTAssertThrowsError(try KeyReference.parse(bad), bad)
        }
        // The description may hold colons (cryptsetup's own are "cryptsetup:UUID-d0").
        XCTAssertEqual(try KeyReference.parse(":32:logon:cryptsetup:a:b"), .keyring(size: 32, type: "logon", description: "cryptsetup:a:b"))
        let user = crypt("aegis128-random", "aead", key: .keyring(size: 16, type: "user", description: "swcrypt:t"))
        XCTAssertTrue(message(.crypt(user), on: ns64)?.contains("'user' key") == true, message(.crypt(user), on: ns64) ?? "accepted")
        XCTAssertNil(message(.crypt(user), on: ns64, policy: .init(allowInsecure: true)))
        let keyring = crypt("aegis128-random", "aead", key: .keyring(size: 16, type: "keyring", description: "swcrypt:t"))
        XCTAssertTrue(message(.crypt(keyring), on: ns64)?.contains("key type 'keyring'") == true)
        for type in ["logon", "encrypted", "trusted"] {
            XCTAssertNil(message(.crypt(crypt("aegis128-random", "aead", key: .keyring(size: 16, type: type, description: "d"))), on: ns64), type)
        }
    }

    func testValidInlineConstructions() {
        for (c, i) in [("aegis128-random", "aead"), ("aes-gcm-random", "aead"), ("chacha20-random", "poly1305"),
                       ("aes-xts-random", "hmac-sha256")] {
            XCTAssertNil(message(.crypt(crypt(c, i)), on: ns64), "\(c)/\(i)")
        }
    }

    func testTagLargerThanMetadata() throws {
        let m = try XCTUnwrap(message(.crypt(crypt("aegis128-random", "aead")), on: ns16))
        XCTAssertTrue(m.hasPrefix("/dev/nvme0n1: "), m)
        XCTAssertTrue(m.contains("needs 32 bytes per sector but the device offers 16 bytes"), m)
        let none = try XCTUnwrap(message(.crypt(crypt("aes-gcm-random", "aead", sectorSize: 512)), on: plain))
        XCTAssertTrue(none.contains("has no per-sector metadata"), none)
    }

    func testProtectionInformation() throws {
        let m = try XCTUnwrap(message(.crypt(crypt("aes-gcm-random", "aead")), length: 8192, on: pi))
        XCTAssertTrue(m.contains("T10-DIF-TYPE1-CRC") && m.contains("protection information"), m)
    }

    func testSectorSizeRules() throws {
        let m = try XCTUnwrap(message(.crypt(crypt("aes-gcm-random", "aead", sectorSize: 512)), on: ns64))
        XCTAssertTrue(m.contains("smaller than the device's logical block size 4096"), m)
        let odd = try XCTUnwrap(message(.crypt(crypt("aes-gcm-random", "aead")), length: 8193, on: ns64))
        XCTAssertTrue(odd.contains("not a multiple of sector_size 4096"), odd)
        let dev = blockTarget(path: "/dev/loop0", logicalBlockSize: 512, sizeBytes: (1 << 20) + 512)
        let size = try XCTUnwrap(message(.linear(LinearTarget(device: "/dev/loop0")), length: 4096, on: dev))
        XCTAssertTrue(size.contains("needs sectors 0..<4096 but the device has 2049 sectors"), size)
    }

    func testWrongTagSize() throws {
        let m = try XCTUnwrap(message(.crypt(crypt("aegis128-random", "aead", bytes: 28)), on: ns64))
        XCTAssertTrue(m.contains("16 B IV + 16 B tag = 32 B"), m)
    }

    func testKernelVersions() throws {
        let inline = try XCTUnwrap(message(.crypt(crypt("aegis128-random", "aead")), on: ns64, kernel: kernel66))
        XCTAssertTrue(inline.contains("needs Linux 6.11"), inline)
        var c = crypt("aes-gcm-random", "aead")
        c.integrityKeySize = 32
        XCTAssertNotNil(message(.crypt(c), on: ns64, kernel: KernelTargets(["crypt": TargetVersion(1, 27, 0)])))
        XCTAssertNil(message(.crypt(c), on: ns64))
        var i = IntegrityTarget(device: "/dev/nvme0n1", tagSize: 4, mode: .inline)
        i.blockSize = 4096
        i.internalHash = "crc32c"
        XCTAssertNil(message(.integrity(i), on: ns64))
        let old = try XCTUnwrap(message(.integrity(i), on: ns64, kernel: kernel66))
        XCTAssertTrue(old.contains("Inline mode needs dm-integrity >= 1.12"), old)
        let noMeta = try XCTUnwrap(message(.integrity(i), on: blockTarget(path: "/dev/nvme1n1", logicalBlockSize: 4096, sizeBytes: 1 << 30)))
        XCTAssertTrue(noMeta.contains("offers 0 bytes"), noMeta)
        XCTAssertNotNil(message(.crypt(crypt("aes-gcm-random", "aead")), on: ns64, kernel: KernelTargets([:])))
    }

    func testInsecureConstructionsRefused() throws {
        let det = try XCTUnwrap(message(.crypt(crypt("aes-gcm-plain64", "aead", bytes: 16)), on: ns64))
        XCTAssertTrue(det.contains("deterministic IV"), det)
        XCTAssertNil(message(.crypt(crypt("aes-gcm-plain64", "aead", bytes: 16)), on: ns64, policy: .init(allowInsecure: true)))
        var none = crypt("aes-xts-random", nil)
        none.integrity = .init(bytes: 16, type: "none")
        let m = try XCTUnwrap(message(.crypt(none), on: ns64))
        XCTAssertTrue(m.contains("authenticates nothing"), m)
        let hex = crypt("aes-gcm-random", "aead", key: .hex(String(repeating: "ab", count: 16)))
        XCTAssertNotNil(message(.crypt(hex), on: ns64))
    }

    func testStackedOnIntegrityLayer() {
        let facts = plain.underIntegrity(tagSize: 28, blockSize: 4096, lengthSectors: 8192)
        XCTAssertEqual(facts.device.freeTagBytes, 28)
        var c = crypt("aes-gcm-random", "aead")
        c.device = "/dev/mapper/x_dif"
        XCTAssertNil(message(.crypt(c), on: facts))
        XCTAssertNotNil(message(.crypt(crypt("aegis128-random", "aead")), on: facts))
    }

    func testBitmapModeNeedsInternalHash() throws {
        var b = IntegrityTarget(device: "/dev/nullb0", tagSize: 28, mode: .bitmap)
        b.blockSize = 4096
        let m = try XCTUnwrap(message(.integrity(b), on: plain))
        XCTAssertTrue(m.contains("only with an internal hash"), m)
        b.internalHash = "crc32c"
        b.tagSize = 4
        XCTAssertNil(message(.integrity(b), on: plain))
    }

    func testCapabilitiesFromVersions() {
        XCTAssertEqual(kernel612.capabilities, [.integrityInline, .cryptOnMetadata, .integrityKeySize, .noWorkqueue, .highPriority])
        XCTAssertEqual(kernel66.capabilities, [.noWorkqueue])
    }
}

final class IntegritySuperblockTests: XCTestCase {
    /// A superblock as dm-integrity writes it: magic, version, tag size 32, flags, 4096-byte blocks.
    func superblock(tagSize: Int, log2SectorsPerBlock: UInt8, flags: UInt32) -> [UInt8] {
        var sb = [UInt8](repeating: 0, count: 512)
        sb.replaceSubrange(0..<8, with: Array("integrt".utf8) + [0])
        sb[8] = 5
        sb[10] = UInt8(tagSize & 0xff); sb[11] = UInt8(tagSize >> 8)
        for i in 0..<4 { sb[24 + i] = UInt8(truncatingIfNeeded: flags >> (8 * UInt32(i))) }
        sb[28] = log2SectorsPerBlock
        return sb
    }

    func testReusedOnlyForTheSameGeometryAndMode() throws {
        var inline = IntegrityTarget(device: "259:1", tagSize: 32, mode: .inline)
        inline.blockSize = 4096
        let sb = try XCTUnwrap(IntegritySuperblock(bytes: superblock(tagSize: 32, log2SectorsPerBlock: 3, flags: 0x20)))
        XCTAssertEqual(sb.blockBytes, 4096)
        XCTAssertTrue(sb.matches(inline))
        var journal = inline
        journal.mode = .journal
        XCTAssertFalse(sb.matches(journal), "the inline flag is set, a journal target must not reuse it")
        var smaller = inline
        smaller.tagSize = 28
        XCTAssertFalse(sb.matches(smaller))
        XCTAssertNil(IntegritySuperblock(bytes: [UInt8](repeating: 0, count: 512)), "zeros: no superblock")
        XCTAssertNil(IntegritySuperblock(bytes: superblock(tagSize: 32, log2SectorsPerBlock: 40, flags: 0)), "a block size no kernel writes")
    }
}
