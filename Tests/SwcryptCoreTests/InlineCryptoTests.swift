import XCTest
@testable import SwcryptCore
import SwcryptReports
@testable import SwcryptSystem
@testable import SwcryptKit

/// Inline-encryption capabilities read from fixture sysfs trees (no emulator has
/// inline-encryption hardware), and the fscrypt conclusions drawn from them.
final class InlineCryptoTests: FixtureTreeTestCase {
    override var fixtureName: String { "inline" }

    /// A disk as the kernel would show it; `crypto` nil: no queue/crypto directory.
    func disk(_ name: String, major: Int, minor: Int, crypto: (modes: [String: String], dunBits: Int, slots: Int, keyFiles: [String])?) throws {
        let dir = "devices/platform/host/\(name)"
        try write("\(dir)/dev", "\(major):\(minor)")
        try write("\(dir)/size", "1048576")
        try write("\(dir)/queue/logical_block_size", "4096")
        try write("\(dir)/queue/physical_block_size", "4096")
        if let crypto {
            try write("\(dir)/queue/crypto/max_dun_bits", "\(crypto.dunBits)")
            try write("\(dir)/queue/crypto/num_keyslots", "\(crypto.slots)")
            for (mode, mask) in crypto.modes { try write("\(dir)/queue/crypto/modes/\(mode)", mask) }
            for f in crypto.keyFiles { try write("\(dir)/queue/crypto/\(f)", "supported") }
        }
        try link("class/block/\(name)", "../../\(dir)")
        try link("block/\(name)", "../\(dir)")
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        // UFS-like: AES-256-XTS with 4096-byte data units (and 512), 64-bit DUNs, 32 keyslots,
        // both key types shown (6.15+).
        try disk("sda", major: 8, minor: 0,
                 crypto: (["AES-256-XTS": "0x1200"], 64, 32, ["hw_wrapped_keys", "raw_keys"]))
        // eMMC-like: 32-bit DUNs, 16 keyslots; also Adiantum; no key-type files (older kernel).
        try disk("mmcblk0", major: 179, minor: 0,
                 crypto: (["AES-256-XTS": "0x1000", "Adiantum": "0x1000"], 32, 16, []))
        // 4096-only XTS without 512, 64-bit DUNs, 8 keyslots.
        try disk("sdb", major: 8, minor: 16, crypto: (["AES-256-XTS": "0x5000"], 64, 8, []))
        // Hardware without 4096-byte data units.
        try disk("sdc", major: 8, minor: 32, crypto: (["AES-256-XTS": "0x200"], 64, 8, []))
        // No inline encryption at all.
        try disk("nvme0n1", major: 259, minor: 0, crypto: nil)
        try write("boot/config-6.12.0-test", "CONFIG_FS_ENCRYPTION=y\nCONFIG_BLK_INLINE_ENCRYPTION=y\nCONFIG_BLK_INLINE_ENCRYPTION_FALLBACK=y")
        try write("boot/config-6.12.0-debian", "# CONFIG_BLK_INLINE_ENCRYPTION is not set\nCONFIG_FS_ENCRYPTION=y")
    }

    var sysfs: Sysfs { Sysfs(root: root, procRoot: root + "/proc") }

    func capability(_ name: String) throws -> InlineCryptoCapability? {
        sysfs.inlineCrypto(of: try XCTUnwrap(sysfs.blockDevice(name: name)))
    }

    func report(_ names: [String], release: String = "6.12.0-test", dataUnitSize: Int? = nil) throws -> InlineCryptoReport {
        let inspector = InlineCryptoInspector(sysfs: sysfs, config: KernelConfigFiles(root: root, procRoot: root + "/proc", sysRoot: root, release: release))
        return inspector.report(resolved: try names.map { ("/dev/\($0)", try XCTUnwrap(sysfs.blockDevice(name: $0))) },
                                dataUnitSize: dataUnitSize)
    }

    func evaluation(_ r: InlineCryptoReport, _ fs: String, _ policy: FscryptPolicy) throws -> FscryptPolicyEvaluation {
        try XCTUnwrap(r.evaluations.first { $0.filesystem == fs && $0.policy == policy })
    }

    func testReadsUFSLikeProfile() throws {
        let c = try XCTUnwrap(try capability("sda"))
        XCTAssertEqual(c.modes, [InlineCryptoMode(name: "AES-256-XTS", dataUnitMask: 0x1200)])
        XCTAssertEqual(c.modes[0].dataUnitSizes, [512, 4096])
        XCTAssertEqual(c.maxDUNBits, 64)
        XCTAssertEqual(c.keyslots, 32)
        XCTAssertEqual(c.hardwareWrappedKeys, true)
        XCTAssertEqual(c.rawKeys, true)
        XCTAssertEqual(c.summary, "AES-256-XTS data units 512,4096; max DUN bits 64; 32 keyslots; keys: hardware-wrapped, raw")
        // Older kernel: the key type is not shown, which is not "unsupported".
        XCTAssertNil(try XCTUnwrap(try capability("mmcblk0")).hardwareWrappedKeys)
        XCTAssertEqual(InlineCryptoMode(name: "x", dataUnitMask: 0x5200).dataUnitSizes, [512, 4096, 16384])
    }

    /// 64 DUN bits: every AES-256-XTS policy works on ext4 and f2fs with 4096-byte data units.
    func testSixtyFourDUNBitsServeAllPolicies() throws {
        let r = try report(["sda"])
        XCTAssertTrue(r.hasHardware)
        for e in r.evaluations {
            XCTAssertTrue(e.hardware, "\(e.filesystem) \(e.policy): \(e.reasons)")
        }
        XCTAssertEqual(try evaluation(r, "ext4", .ivInoLblk64).dunBitsNeeded, 64)
        XCTAssertEqual(try evaluation(r, "ext4", .ivInoLblk32).dunBitsNeeded, 32)
        // ext4 with 4 KiB blocks: file data-unit indices fit 32 bits, so the default policy asks for 4 bytes.
        XCTAssertEqual(try evaluation(r, "ext4", .perFileKeys).dunBitsNeeded, 32)
        XCTAssertTrue(try evaluation(r, "ext4", .perFileKeys).notes.contains { $0.contains("32 keyslots") })
    }

    /// 32 DUN bits (eMMC-like): IV_INO_LBLK_64 is out; IV_INO_LBLK_32 and (with
    /// 4096-byte data units on ext4/f2fs) the default policy still fit.
    func testThirtyTwoDUNBits() throws {
        let r = try report(["mmcblk0"])
        let lblk64 = try evaluation(r, "ext4", .ivInoLblk64)
        XCTAssertFalse(lblk64.hardware)
        XCTAssertEqual(lblk64.reasons, ["needs 64 DUN bits, the hardware has 32"])
        XCTAssertTrue(try evaluation(r, "ext4", .ivInoLblk32).hardware)
        XCTAssertTrue(try evaluation(r, "f2fs", .ivInoLblk32).hardware)
        XCTAssertTrue(try evaluation(r, "ext4", .perFileKeys).hardware)
        XCTAssertTrue(r.lines.contains("  ext4 IV_INO_LBLK_64 (data unit 4096, 64 DUN bits): not in hardware: needs 64 DUN bits, the hardware has 32"),
                      r.lines.joined(separator: "\n"))
    }

    /// Sub-block data units (log2_data_unit_size = 9): the default policy's DUN grows
    /// past 32 bits and IV_INO_LBLK_* become impossible on ext4.
    func testSmallDataUnits() throws {
        let r = try report(["mmcblk0"], dataUnitSize: 512)
        let d = try evaluation(r, "ext4", .perFileKeys)
        XCTAssertEqual(d.dunBitsNeeded, 40)
        XCTAssertFalse(d.hardware)
        XCTAssertTrue(d.reasons.contains("AES-256-XTS has no 512-byte data units (only 4096)"), "\(d.reasons)")
        XCTAssertTrue(d.reasons.contains("needs 40 DUN bits, the hardware has 32"), "\(d.reasons)")
        let i32 = try evaluation(r, "ext4", .ivInoLblk32)
        XCTAssertFalse(i32.policyAllowed)
        XCTAssertFalse(i32.hardware)
    }

    func testDataUnitSizeMissing() throws {
        let r = try report(["sdc"])
        let e = try evaluation(r, "ext4", .ivInoLblk64)
        XCTAssertFalse(e.hardware)
        XCTAssertEqual(e.reasons, ["AES-256-XTS has no 4096-byte data units (only 512)"])
    }

    /// A linear/flakey mapping over sda and mmcblk0: mode on both, masks ANDed,
    /// the smaller DUN width and keyslot count; key types only if all show them.
    func testIntersectionOfTwoDevices() throws {
        let r = try report(["sda", "mmcblk0"])
        let p = try XCTUnwrap(r.passthrough)
        XCTAssertEqual(p.modes, [InlineCryptoMode(name: "AES-256-XTS", dataUnitMask: 0x1000)])
        XCTAssertEqual(p.maxDUNBits, 32)
        XCTAssertEqual(p.keyslots, 16)
        XCTAssertNil(p.hardwareWrappedKeys)
        XCTAssertEqual(r.effective, p)
        XCTAssertFalse(try evaluation(r, "f2fs", .ivInoLblk64).hardware)
        XCTAssertTrue(try evaluation(r, "f2fs", .ivInoLblk32).hardware)

        // sda (512,4096) and sdb (4096,16384): only 4096 in common.
        let r2 = try report(["sda", "sdb"])
        XCTAssertEqual(r2.passthrough?.modes.first?.dataUnitSizes, [4096])
        XCTAssertEqual(r2.passthrough?.keyslots, 8)
        XCTAssertEqual(r2.passthrough?.maxDUNBits, 64)

        // sdb (4096,16384) and sdc (512): no data unit in common -> no mode.
        let r3 = try report(["sdb", "sdc"])
        XCTAssertEqual(r3.passthrough?.modes, [])
        XCTAssertTrue(r3.evaluations.allSatisfy { !$0.hardware })
    }

    func testDeviceWithoutCrypto() throws {
        XCTAssertNil(try capability("nvme0n1"))
        let r = try report(["nvme0n1"], release: "6.12.0-debian")
        XCTAssertFalse(r.hasHardware)
        XCTAssertEqual(r.fallback.enabled, false)
        XCTAssertEqual(r.fallback.blockLayerSupport, false)
        XCTAssertTrue(r.evaluations.allSatisfy { !$0.hardware && $0.reasons == ["no inline-encryption hardware"] })
        let lines = r.lines
        XCTAssertEqual(lines[0], "/dev/nvme0n1: no inline-encryption hardware (no \(root)/class/block/nvme0n1/queue/crypto)")
        XCTAssertTrue(lines[1].contains("CONFIG_BLK_INLINE_ENCRYPTION is not set in \(root)/boot/config-6.12.0-debian"), lines[1])

        // With hardware on one device and none on the other, a mapping has none.
        let mixed = try report(["sda", "nvme0n1"])
        XCTAssertNil(mixed.passthrough)
        XCTAssertFalse(mixed.hasHardware)
        XCTAssertTrue(mixed.lines.contains { $0.contains("no inline encryption (/dev/nvme0n1 has none)") },
                      mixed.lines.joined(separator: "\n"))
        // Fallback built in: said so, with the file it came from.
        let withFallback = try report(["nvme0n1"])
        XCTAssertEqual(withFallback.fallback.enabled, true)
        XCTAssertTrue(withFallback.lines.last!.contains("blk-crypto-fallback (software)"))
        // No config anywhere: unknown, naming what was tried.
        let unknown = try report(["nvme0n1"], release: "9.9.9")
        XCTAssertNil(unknown.fallback.enabled)
        XCTAssertTrue(unknown.fallback.source.contains("config-9.9.9"))
    }

    /// A passthrough mapping over sda (UFS-like) reloaded over sda+sdc (no
    /// 4096-byte units) or sda+nvme0n1 (no hardware) would lose capability: the
    /// kernel refuses that load, so swcrypt predicts it and says what is lost.
    func testReloadLossPredictedFromFixtures() throws {
        // The live mapping's profile, as dm registers it: sda's capability.
        try disk("dm-0", major: 254, minor: 0, crypto: (["AES-256-XTS": "0x1200"], 64, 32, ["hw_wrapped_keys", "raw_keys"]))
        let fs = sysfs
        let live = try XCTUnwrap(fs.blockDevice(name: "dm-0"))
        func dev(_ n: String) throws -> BlockDevice { try XCTUnwrap(fs.blockDevice(name: n)) }

        XCTAssertEqual(fs.passthroughReloadLosses(live: live, devices: [try dev("sda")]), [])
        // sdb: 4096 only (loses 512-byte units), no key-type files (wrapped keys unknown -> lost).
        XCTAssertEqual(fs.passthroughReloadLosses(live: live, devices: [try dev("sda"), try dev("sdb")]),
                       ["AES-256-XTS data units 512", "hardware-wrapped keys"])
        XCTAssertEqual(fs.passthroughReloadLosses(live: live, devices: [try dev("sda"), try dev("sdc")]),
                       ["AES-256-XTS data units 4096", "hardware-wrapped keys"])
        // eMMC-like: 32-bit DUNs.
        XCTAssertEqual(fs.passthroughReloadLosses(live: live, devices: [try dev("mmcblk0")]),
                       ["AES-256-XTS data units 512", "DUN bits 64 -> 32", "hardware-wrapped keys"])
        let none = fs.passthroughReloadLosses(live: live, devices: [try dev("sda"), try dev("nvme0n1")])
        XCTAssertEqual(none.count, 1)
        XCTAssertTrue(none[0].hasPrefix("all of it (AES-256-XTS data units 512,4096; max DUN bits 64"), none[0])
        // A live mapping without a profile loses nothing, whatever comes.
        let plain = try dev("nvme0n1")
        XCTAssertEqual(fs.passthroughReloadLosses(live: plain, devices: [try dev("sdc")]), [])
    }

    /// A self-built kernel installs no config file: the running kernel is the witness.
    func testFallbackFromRunningKernel() throws {
        try write("proc/kallsyms", "0000000000000000 T blk_crypto_evict_key\n0000000000000000 T blk_crypto_fallback_bio_prep\n0000000000000000 t xts_encrypt\t[xts]")
        try write("module/blk_crypto/parameters/num_prealloc_crypt_ctxs", "128")
        let built = try report(["nvme0n1"], release: "6.12.117")
        XCTAssertEqual(built.fallback.enabled, true)
        XCTAssertEqual(built.fallback.blockLayerSupport, true)
        XCTAssertEqual(built.fallback.summary, "blk-crypto-fallback: built in (\(root)/proc/kallsyms has blk_crypto_fallback_bio_prep): fscrypt's inlinecrypt works in software on any device, without hardware speed")

        // blk-crypto without the fallback: hardware only.
        try write("proc/kallsyms", "0000000000000000 T blk_crypto_evict_key\n0000000000000000 T blk_crypto_fallback_bio_prep_not")
        let hwOnly = try report(["nvme0n1"], release: "6.12.117")
        XCTAssertEqual(hwOnly.fallback.enabled, false)
        XCTAssertEqual(hwOnly.fallback.blockLayerSupport, true)
        XCTAssertTrue(hwOnly.fallback.summary.hasSuffix("inlinecrypt works only on devices with hardware"), hwOnly.fallback.summary)

        // Neither: no inline encryption at all.
        try FileManager.default.removeItem(atPath: root + "/module/blk_crypto")
        let none = try report(["nvme0n1"], release: "6.12.117")
        XCTAssertEqual(none.fallback.enabled, false)
        XCTAssertEqual(none.fallback.blockLayerSupport, false)
        XCTAssertTrue(none.fallback.summary.contains("CONFIG_BLK_INLINE_ENCRYPTION is off"), none.fallback.summary)
    }

    func testPartitionReadsItsDisk() throws {
        try write("devices/platform/host/sda/sda1/dev", "8:1")
        try write("devices/platform/host/sda/sda1/partition", "1")
        try link("class/block/sda1", "../../devices/platform/host/sda/sda1")
        let p = try XCTUnwrap(sysfs.blockDevice(name: "sda1"))
        XCTAssertEqual(sysfs.inlineCrypto(of: p)?.maxDUNBits, 64)
    }

    func testMalformedFilesDoNotTrap() throws {
        try write("devices/platform/host/sdc/queue/crypto/modes/SM4-XTS", "garbage")
        try write("devices/platform/host/sdc/queue/crypto/max_dun_bits", "")
        let c = try XCTUnwrap(try capability("sdc"))
        XCTAssertEqual(c.modes.map(\.name), ["AES-256-XTS"])
        XCTAssertEqual(c.maxDUNBits, 0)
    }
}
