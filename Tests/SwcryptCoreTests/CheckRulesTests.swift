import XCTest
@testable import SwcryptCore
import SwcryptReports

/// `swcrypt check`'s rules, fed with fixture facts of several kernels and devices.
final class CheckRulesTests: XCTestCase {
    static let kernel612 = KernelTargets(["crypt": TargetVersion(1, 28, 0), "integrity": TargetVersion(1, 13, 0),
                                          "linear": TargetVersion(1, 4, 0)])
    static let kernel66 = KernelTargets(["crypt": TargetVersion(1, 25, 0), "integrity": TargetVersion(1, 10, 0),
                                         "linear": TargetVersion(1, 4, 0)])

    static func aeads(_ availability: CryptoAvailability, mibs: Double? = 1234.56) -> [AEADFact] {
        AuthenticatedCipher.common.map {
            AEADFact(cipher: $0, algorithm: KernelCipher($0.cipher, integrity: $0.integrity).algorithm,
                     availability: availability, mibPerSecond: availability == .available ? mibs : nil)
        }
    }

    static let loadedModules = ModuleFact.inspected.map { ModuleFact(name: $0.name, state: .loaded) }

    func facts(release: String = "6.12.95+deb12-amd64", root: Bool = true,
               dm: DeviceMapperFacts.Access = .queried(driver: "4.48.0", targets: kernel612),
               aeads: [AEADFact] = aeads(.available), modules: [ModuleFact] = loadedModules,
               cryptsetup: String? = "2.8.8", inlineTags: Bool = true,
               device: CheckedDevice? = nil) -> CheckFacts {
        CheckFacts(kernelRelease: release, isRoot: root, modulesDirectory: "/lib/modules/\(release)",
                       modules: modules, deviceMapper: DeviceMapperFacts(dm), aeads: aeads,
                       cryptsetupVersion: cryptsetup, cryptsetupHasInlineTags: inlineTags, device: device)
    }

    func namespace(flbas: UInt8, metadata: Int, format: String = "nop") throws -> CheckedDevice {
        let target = blockTarget(path: "/dev/nvme0n1", name: "nvme0n1", kind: .nvmeNamespace(nsid: 1), logicalBlockSize: 4096,
                                 sizeBytes: 512 << 20, metadataBytes: metadata, integrityFormat: format)
        let report = NamespaceReport(device: "/dev/nvme0n1", nsid: 1,
                                     identify: try IdentifyNamespace(bytes: qemuIdentifyNamespace(flbas: flbas)),
                                     kernel: target.device)
        return CheckedDevice(path: target.path, device: target.device, namespace: report)
    }

    func disk(_ name: String = "sda", logical: Int = 512, size: UInt64 = 64 << 20, metadata: Int? = 0,
              format: String = "none", tagSize: Int = 0, holders: [Holder] = [], mounts: [String] = []) -> CheckedDevice {
        let target = blockTarget(path: "/dev/\(name)", name: name, kind: .scsiDisk, logicalBlockSize: logical, physicalBlockSize: 4096,
                                 sizeBytes: size, metadataBytes: metadata, integrityFormat: format, integrityTagSize: tagSize,
                                 holders: holders)
        return CheckedDevice(path: target.path, device: target.device, mounts: mounts)
    }

    func finding(_ r: CheckReport, _ item: String, file: StaticString = #filePath, line: UInt = #line) throws -> Finding {
        try XCTUnwrap(r.findings.first { $0.item == item }, "no finding '\(item)' in:\n" + r.lines.joined(separator: "\n"),
                      file: file, line: line)
    }

    // MARK: kernels

    func testKernel612WithEverything() throws {
        let r = CheckReport(facts: facts())
        XCTAssertEqual(r.count(.blocking), 0, r.lines.joined(separator: "\n"))
        XCTAssertEqual(r.count(.warning), 0, r.lines.joined(separator: "\n"))
        XCTAssertEqual(r.exitStatus, .success)
        let lines = r.lines
        XCTAssertTrue(lines.contains("  ok        crypt target 1.28.0: inline tags, integrity_key_size, no_read/write_workqueue, high_priority"), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains("  ok        integrity target 1.13.0: Inline mode"))
        XCTAssertTrue(lines.contains("  ok        device-mapper driver 4.48.0"))
        XCTAssertTrue(lines.contains("  ok        aegis128-random/aead (aegis128): usable, 1234.6 MiB/s encrypting 4 KiB sectors (AF_ALG, one thread)"))
        XCTAssertTrue(lines.contains("  ok        default cipher for map crypt and format: aegis128-random/aead (32 metadata bytes per sector)"))
        XCTAssertTrue(lines.contains("  ok        libcryptsetup 2.8.8: LUKS2 with inline HW tags (crypt_format_inline, 2.8 or later)"))
        XCTAssertTrue(lines.contains("  ok        module dm_crypt: loaded"))
        // Grouped in a fixed order, then the summary.
        let headers = lines.filter { !$0.hasPrefix(" ") && !$0.isEmpty && !$0.hasPrefix("summary") }
        XCTAssertEqual(headers, ["kernel", "device-mapper", "crypto", "libcryptsetup"])
        XCTAssertEqual(lines.last, "summary: \(r.count(.ok)) ok, 0 warning, 0 blocking; nothing blocking")
        XCTAssertEqual(r.findings.filter { $0.area == .crypto && $0.item.contains("/") }.count, AuthenticatedCipher.common.count)
    }

    func testKernel66IntegrityOneTenBlocksInline() throws {
        let r = CheckReport(facts: facts(release: "6.6.0-28-generic", dm: .queried(driver: "4.48.0", targets: Self.kernel66)))
        XCTAssertEqual(r.exitStatus, .failure)
        let inlineMode = try finding(r, "Inline mode")
        XCTAssertEqual(inlineMode.status, .blocking)
        XCTAssertEqual(inlineMode.detail, "Inline mode: not in integrity target 1.10.0 (needs integrity >= 1.12, Linux 6.11)")
        XCTAssertTrue(inlineMode.advice?.contains("Linux 6.11") == true)
        let tags = try finding(r, "inline tags")
        XCTAssertEqual(tags.status, .blocking)
        XCTAssertEqual(tags.detail, "inline tags: not in crypt target 1.25.0 (needs crypt >= 1.27, Linux 6.11)")
        XCTAssertEqual(try finding(r, "high_priority").status, .warning)
        XCTAssertEqual(try finding(r, "integrity_key_size").status, .warning)
        XCTAssertNil(r.findings.first { $0.item == "no_read/write_workqueue" }, "1.25 has the workqueue flags")
        XCTAssertEqual(try finding(r, "crypt target").detail, "crypt target 1.25.0: no_read/write_workqueue")
        XCTAssertEqual(try finding(r, "integrity target").detail, "integrity target 1.10.0: none of Inline mode")
        let release = try finding(r, "release")
        XCTAssertEqual(release.status, .warning)
        XCTAssertTrue(release.detail.hasPrefix("Linux 6.6 (6.6.0-28-generic): older than 6.11"), release.detail)
        XCTAssertEqual(r.count(.blocking), 2)
        XCTAssertTrue(r.lines.last!.hasSuffix("2 blocking; blocked: see the blocking lines"), r.lines.last!)
    }

    func testOldReleaseWithBackportedTargets() throws {
        let r = CheckReport(facts: facts(release: "5.14.0-427.el9.x86_64"))
        let release = try finding(r, "release")
        XCTAssertEqual(release.status, .ok)
        XCTAssertTrue(release.detail.contains("backported"), release.detail)
    }

    func testCapabilitiesComeFromTheOneTable() {
        XCTAssertEqual(Self.kernel612.capabilities, [.cryptOnMetadata, .integrityKeySize, .noWorkqueue, .highPriority, .integrityInline])
        XCTAssertEqual(Self.kernel66.capabilities, [.noWorkqueue])
        XCTAssertEqual(KernelTargets(["crypt": TargetVersion(1, 27, 0)]).capabilities, [.cryptOnMetadata, .noWorkqueue, .highPriority])
        XCTAssertEqual(KernelTargets.requirements.map(\.name),
                       ["inline tags", "integrity_key_size", "no_read/write_workqueue", "high_priority", "Inline mode"])
    }

    func testNoDeviceMapper() throws {
        let r = CheckReport(facts: facts(dm: .unavailable("the kernel has none (not in /proc/misc, no dm_mod module)")))
        let driver = try finding(r, "driver")
        XCTAssertEqual(driver.status, .blocking)
        XCTAssertEqual(driver.detail, "no device-mapper: the kernel has none (not in /proc/misc, no dm_mod module)")
        XCTAssertTrue(driver.advice?.contains("CONFIG_BLK_DEV_DM") == true)
        XCTAssertEqual(r.exitStatus, .failure)
    }

    func testNotRootIsAWarning() throws {
        let r = CheckReport(facts: facts(root: false, dm: .notRoot, device: try namespace(flbas: 7, metadata: 64)))
        let access = try finding(r, "access")
        XCTAssertEqual(access.status, .warning)
        XCTAssertTrue(access.detail.hasPrefix("not root: device-mapper versions unknown"), access.detail)
        XCTAssertEqual(r.count(.blocking), 0, r.lines.joined(separator: "\n"))
        let plan = try finding(r, "format plan")
        XCTAssertEqual(plan.status, .warning)
        XCTAssertTrue(plan.detail.contains("not root"), plan.detail)
        XCTAssertEqual(r.exitStatus, .success)
    }

    // MARK: modules

    func testModuleStates() throws {
        let modules = [
            ModuleFact(name: "dm_mod", state: .builtIn),
            ModuleFact(name: "dm_crypt", state: .loadable, loadedByCheck: true),
            ModuleFact(name: "dm_integrity", state: .missing),
            ModuleFact(name: "aegis128", state: .loadable),
            ModuleFact(name: "gcm", state: .missing),
            ModuleFact(name: "chacha20poly1305", state: .unknown),
            ModuleFact(name: "authenc", state: .missing),
        ]
        var aeads = Self.aeads(.available)
        aeads[2].availability = .missing  // chacha20poly1305
        aeads[3].availability = .missing  // authenc(hmac(sha256),...)
        aeads[4].availability = .missing
        let targets = KernelTargets(["crypt": TargetVersion(1, 28, 0)])
        let r = CheckReport(facts: facts(dm: .queried(driver: "4.48.0", targets: targets), aeads: aeads, modules: modules))
        XCTAssertEqual(try finding(r, "module dm_mod").detail, "module dm_mod: built in")
        let crypt = try finding(r, "module dm_crypt")
        XCTAssertEqual(crypt.status, .ok)
        XCTAssertTrue(crypt.detail.contains("check loaded it"), crypt.detail)
        XCTAssertTrue(crypt.detail.contains("as cryptsetup does"), crypt.detail)
        // No module and no target: dm-integrity is missing for real.
        let integrity = try finding(r, "module dm_integrity")
        XCTAssertEqual(integrity.status, .blocking)
        XCTAssertEqual(integrity.advice, "use a kernel with CONFIG_DM_INTEGRITY")
        XCTAssertEqual(try finding(r, "integrity target").status, .blocking)
        XCTAssertEqual(try finding(r, "module aegis128").detail, "module aegis128: loadable (modules.dep); the crypto API loads it on first use")
        // The lists say missing, but the crypto API has gcm(aes): built in under another name.
        let gcm = try finding(r, "module gcm")
        XCTAssertEqual(gcm.status, .ok)
        XCTAssertEqual(gcm.detail, "module gcm: not found as a module, but the crypto API has gcm(aes) (built in)")
        let chacha = try finding(r, "module chacha20poly1305")
        XCTAssertEqual(chacha.status, .warning)
        XCTAssertTrue(chacha.detail.contains("/lib/modules/6.12.95+deb12-amd64"), chacha.detail)
        let authenc = try finding(r, "module authenc")
        XCTAssertEqual(authenc.status, .warning)
        XCTAssertEqual(authenc.advice, "use a kernel with CONFIG_CRYPTO_AUTHENC, or a cipher the kernel has")
        // And the ciphers themselves.
        let missingAEAD = try finding(r, "aes-xts-random/hmac-sha256")
        XCTAssertEqual(missingAEAD.status, .warning)
        XCTAssertEqual(missingAEAD.detail, "aes-xts-random/hmac-sha256 (authenc(hmac(sha256),xts(aes))): the kernel has no such AEAD (AF_ALG: ENOENT)")
        XCTAssertEqual(missingAEAD.advice, "enable CONFIG_CRYPTO_AUTHENC, or use another cipher")
    }

    // MARK: crypto

    func testNoAFALG() throws {
        var aeads = Self.aeads(.unknown("AF_ALG sockets unavailable (Address family not supported by protocol); CONFIG_CRYPTO_USER_API_AEAD missing?"))
        aeads[1].listedInProcCrypto = true
        let r = CheckReport(facts: facts(aeads: aeads))
        let crypto = r.findings(in: .crypto)
        XCTAssertEqual(crypto.count, 2, crypto.map(\.detail).joined(separator: "\n"))
        XCTAssertEqual(crypto[0].item, "AF_ALG")
        XCTAssertEqual(crypto[0].status, .warning)
        XCTAssertTrue(crypto[0].detail.contains("CONFIG_CRYPTO_USER_API_AEAD"), crypto[0].detail)
        XCTAssertTrue(crypto[0].advice?.contains("CONFIG_CRYPTO_USER_API_AEAD") == true)
        XCTAssertEqual(crypto[1].detail, "aes-gcm-random/aead (gcm(aes)): in /proc/crypto; not benchmarked (no AF_ALG)")
        XCTAssertEqual(r.count(.blocking), 0)
    }

    func testNoAEADAtAll() throws {
        let r = CheckReport(facts: facts(aeads: Self.aeads(.missing)))
        XCTAssertEqual(try finding(r, "AEADs").status, .blocking)
        XCTAssertNil(r.findings.first { $0.item == "default cipher" })
    }

    func testBenchmarkFailureStillUsable() throws {
        var aeads = Self.aeads(.available)
        aeads[0].mibPerSecond = nil
        aeads[0].benchmarkProblem = "setsockopt ALG_SET_KEY (16 bytes): Invalid argument"
        let r = CheckReport(facts: facts(aeads: aeads))
        let f = try finding(r, "aegis128-random/aead")
        XCTAssertEqual(f.status, .ok)
        XCTAssertEqual(f.detail, "aegis128-random/aead (aegis128): usable; benchmark failed: setsockopt ALG_SET_KEY (16 bytes): Invalid argument")
    }

    func testDefaultCipherWithoutAegis() throws {
        var aeads = Self.aeads(.available)
        aeads[0].availability = .missing
        let r = CheckReport(facts: facts(aeads: aeads, device: try namespace(flbas: 7, metadata: 64)))
        XCTAssertTrue(try finding(r, "default cipher").detail.contains("aes-gcm-random/aead (28 metadata bytes"))
        let tags = try finding(r, "tags")
        XCTAssertTrue(tags.detail.contains("aegis128-random/aead (32 B, not in this kernel)"), tags.detail)
        XCTAssertEqual(tags.status, .ok)
        XCTAssertTrue(try finding(r, "format plan").detail.contains("aes-gcm-random/aead, 28 of 64 metadata bytes"))
    }

    // MARK: libcryptsetup

    func testOldLibcryptsetup() throws {
        let r = CheckReport(facts: facts(cryptsetup: "2.7.5", inlineTags: false, device: try namespace(flbas: 7, metadata: 64)))
        let lib = try finding(r, "version")
        XCTAssertEqual(lib.status, .warning)
        XCTAssertEqual(lib.detail, "libcryptsetup 2.7.5: no LUKS2 inline HW tags (no crypt_format_inline; needs 2.8)")
        let plan = try finding(r, "format plan")
        XCTAssertEqual(plan.status, .blocking)
        XCTAssertTrue(plan.detail.hasSuffix("but libcryptsetup 2.7.5 has no inline HW tags"), plan.detail)
        let unnamed = CheckReport(facts: facts(cryptsetup: nil))
        XCTAssertTrue(try finding(unnamed, "version").detail.hasPrefix("libcryptsetup (version not reported): LUKS2 with inline HW tags"))
    }

    // MARK: devices

    func testNamespace4096Plus64() throws {
        let device = try namespace(flbas: 7, metadata: 64)
        let r = CheckReport(facts: facts(device: device))
        XCTAssertEqual(r.count(.blocking), 0, r.lines.joined(separator: "\n"))
        XCTAssertEqual(r.count(.warning), 0, r.lines.joined(separator: "\n"))
        XCTAssertEqual(try finding(r, "type").detail, "/dev/nvme0n1: NVMe namespace 1 (nvme0n1)")
        XCTAssertEqual(try finding(r, "metadata").detail, "4096+64: 64 metadata bytes per sector free for tags (profile nop)")
        XCTAssertEqual(try finding(r, "tags").detail,
                       "fits aegis128-random/aead (32 B), aes-gcm-random/aead (28 B), chacha20-random/poly1305 (28 B), aes-xts-random/hmac-sha256 (48 B); too big: aes-xts-random/hmac-sha512 (80 B)")
        XCTAssertEqual(try finding(r, "size").detail, "size 512.0 MiB (536870912 bytes), a multiple of 4096")
        XCTAssertEqual(try finding(r, "in use").detail, "not mounted, no holders")
        // One line per geometry from id-ns's report, not recomputed.
        let lbafs = r.findings.filter { $0.item.hasPrefix("lbaf ") }
        let fits = try XCTUnwrap(device.namespace?.fits)
        XCTAssertEqual(lbafs.map(\.item), fits.map { "lbaf \($0.lbaf.index)" })
        XCTAssertTrue(lbafs.contains { $0.detail == "LBA format 4096+64 (lbaf 7, in use): fits aegis128-random/aead (32 B), aes-gcm-random/aead (28 B), chacha20-random/poly1305 (28 B), aes-xts-random/hmac-sha256 (48 B)" },
                      lbafs.map(\.detail).joined(separator: "\n"))
        XCTAssertTrue(lbafs.contains { $0.detail == "LBA format 512+8 (lbaf 1): fits none" })
        let plan = try finding(r, "format plan")
        XCTAssertEqual(plan.status, .ok)
        XCTAssertEqual(plan.detail, "swcrypt format would write LUKS2 with inline HW tags: aegis128-random/aead, 32 of 64 metadata bytes, no journal")
        XCTAssertTrue(r.lines.contains("device /dev/nvme0n1"))
    }

    func testNamespaceWithoutMetadataSuggestsReformat() throws {
        let r = CheckReport(facts: facts(device: try namespace(flbas: 4, metadata: 0, format: "none")))
        let metadata = try finding(r, "metadata")
        XCTAssertEqual(metadata.status, .warning)
        XCTAssertEqual(metadata.detail, "4096+0: no per-sector metadata (profile none)")
        XCTAssertTrue(metadata.advice?.hasPrefix("swcrypt format /dev/nvme0n1 --nvme-lbaf auto reformats to 4096+64 (lbaf 7)") == true,
                      metadata.advice ?? "")
        XCTAssertNil(r.findings.first { $0.item == "tags" })
        let plan = try finding(r, "format plan")
        XCTAssertEqual(plan.status, .ok)
        XCTAssertTrue(plan.detail.hasPrefix("swcrypt format would write LUKS2 over dm-integrity"), plan.detail)
        XCTAssertTrue(plan.advice?.contains("--nvme-lbaf auto") == true)
        XCTAssertEqual(r.exitStatus, .success)
    }

    func testNamespace4096Plus16TooSmall() throws {
        let r = CheckReport(facts: facts(device: try namespace(flbas: 6, metadata: 16)))
        let metadata = try finding(r, "metadata")
        XCTAssertEqual(metadata.status, .warning)
        XCTAssertTrue(metadata.detail.contains("too few for any tag (the smallest needs 28)"), metadata.detail)
    }

    func testProtectionInformationBlocks() throws {
        let r = CheckReport(facts: facts(device: disk(logical: 4096, metadata: 8, format: "T10-DIF-TYPE1-CRC", tagSize: 2)))
        let metadata = try finding(r, "metadata")
        XCTAssertEqual(metadata.status, .blocking)
        XCTAssertEqual(metadata.detail, "4096+8: the metadata is taken by protection information (T10-DIF-TYPE1-CRC); no room for tags")
        XCTAssertEqual(metadata.advice, "use a device or format without protection information")
        XCTAssertNil(r.findings.first { $0.item == "tags" })
        XCTAssertNil(r.findings.first { $0.item == "format plan" })
        XCTAssertEqual(r.exitStatus, .failure)

        // An NVMe namespace with PI: the advice names the format to go to.
        let ns = CheckReport(facts: facts(device: try namespace(flbas: 7, metadata: 64, format: "T10-DIF-TYPE1-CRC")))
        XCTAssertEqual(try finding(ns, "metadata").advice, "reformat without PI: swcrypt nvme-format /dev/nvme0n1 --lbaf 7 (4096+64)")
    }

    func testMountedAndHeldDevice() throws {
        let r = CheckReport(facts: facts(device: disk(holders: [Holder(kernelName: "dm-0", mappingName: "vol")], mounts: ["/dev/sda1 on /mnt"])))
        let inUse = try finding(r, "in use")
        XCTAssertEqual(inUse.status, .blocking)
        XCTAssertEqual(inUse.detail, "in use: mounted: /dev/sda1 on /mnt; held by vol (dm-0)")
        XCTAssertTrue(inUse.advice?.contains("exit 5") == true)
        XCTAssertEqual(r.exitStatus, .failure)
    }

    func testSizes() throws {
        let odd = CheckReport(facts: facts(device: disk(size: (64 << 20) + 512)))
        XCTAssertEqual(try finding(odd, "size").status, .warning)
        XCTAssertTrue(try finding(odd, "size").detail.contains("not a multiple of 4096"))
        let empty = CheckReport(facts: facts(device: disk(size: 0)))
        XCTAssertEqual(try finding(empty, "size").status, .blocking)
        XCTAssertNil(empty.findings.first { $0.item == "format plan" })
    }

    func testMetadataBytesNotShown() throws {
        let r = CheckReport(facts: facts(device: disk(metadata: nil)))
        XCTAssertEqual(try finding(r, "metadata").detail,
                       "512+?: no per-sector metadata (profile none) (sysfs has no metadata_bytes: Linux < 6.9 or no CONFIG_BLK_DEV_INTEGRITY)")
    }

    func testDMIntegrityLayerBeneath() throws {
        var d = disk("dm-1", logical: 4096, metadata: nil, format: "DM-DIF-EXT-TAG", tagSize: 32)
        d.device.kind = .deviceMapper(name: "vol_dif")
        let r = CheckReport(facts: facts(device: d))
        XCTAssertEqual(try finding(r, "metadata").detail,
                       "4096+?: 32 metadata bytes per sector free for tags (a dm-integrity layer beneath (DM-DIF-EXT-TAG))")
        XCTAssertTrue(try finding(r, "tags").detail.hasPrefix("fits aegis128-random/aead (32 B), aes-gcm-random/aead (28 B), chacha20-random/poly1305 (28 B); too big"))
    }

    func testIdentifyProblemWithoutRoot() throws {
        var d = try namespace(flbas: 7, metadata: 64)
        d.namespace = nil
        d.namespaceProblem = "/dev/nvme0n1: identify namespace failed (Permission denied, errno 13)"
        let r = CheckReport(facts: facts(root: false, dm: .notRoot, device: d))
        let f = try finding(r, "lba formats")
        XCTAssertEqual(f.status, .warning)
        XCTAssertTrue(f.detail.contains("Permission denied"), f.detail)
        XCTAssertEqual(f.advice, "run as root (Identify Namespace needs it)")
    }

    // MARK: JSON

    func testJSONShape() throws {
        let r = CheckReport(facts: facts(device: try namespace(flbas: 7, metadata: 64)))
        let data = Data(try JSONText.encode(CheckReportJSON(r)).utf8)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let summary = try XCTUnwrap(object["summary"] as? [String: Int])
        XCTAssertEqual(summary, ["ok": r.count(.ok), "warning": 0, "blocking": 0])
        let findings = try XCTUnwrap(object["findings"] as? [[String: Any]])
        XCTAssertEqual(findings.count, r.findings.count)
        let first = findings[0]
        XCTAssertEqual(Set(first.keys), ["area", "item", "status", "detail", "advice"])
        XCTAssertTrue(first["advice"] is NSNull, "advice is null, not omitted")
        XCTAssertEqual(findings.first { $0["item"] as? String == "crypt target" }?["area"] as? String, "device-mapper")

        let facts = try XCTUnwrap(object["facts"] as? [String: Any])
        XCTAssertEqual(facts["kernel_release"] as? String, "6.12.95+deb12-amd64")
        let dm = try XCTUnwrap(facts["device_mapper"] as? [String: Any])
        XCTAssertEqual(dm["status"] as? String, "queried")
        XCTAssertEqual(dm["driver_version"] as? String, "4.48.0")
        XCTAssertEqual((dm["targets"] as? [String: String])?["crypt"], "1.28.0")
        XCTAssertEqual((dm["capabilities"] as? [String])?.first, "inline tags")
        let aeads = try XCTUnwrap(facts["aeads"] as? [[String: Any]])
        XCTAssertEqual(aeads[0]["algorithm"] as? String, "aegis128")
        XCTAssertEqual(aeads[0]["status"] as? String, "usable")
        XCTAssertEqual(aeads[0]["mib_per_s"] as? Double, 1234.6)
        let lib = try XCTUnwrap(facts["libcryptsetup"] as? [String: Any])
        XCTAssertEqual(lib["version"] as? String, "2.8.8")
        XCTAssertEqual(lib["inline_hw_tags"] as? Bool, true)
        let device = try XCTUnwrap(facts["device"] as? [String: Any])
        XCTAssertEqual(device["kind"] as? String, "nvme-namespace")
        XCTAssertEqual(device["metadata_bytes"] as? Int, 64)
        XCTAssertEqual(device["free_metadata_bytes"] as? Int, 64)
        XCTAssertEqual((device["fits"] as? [[String: Any]])?.map { $0["name"] as? String },
                       ["aegis128-random/aead", "aes-gcm-random/aead", "chacha20-random/poly1305", "aes-xts-random/hmac-sha256"])
        let formats = try XCTUnwrap(device["lba_formats"] as? [[String: Any]])
        XCTAssertEqual(formats.last?["geometry"] as? String, "4096+64")

        // Without root: the device-mapper object says so, targets empty.
        let notRoot = Data(try JSONText.encode(CheckReportJSON(CheckReport(facts: self.facts(root: false, dm: .notRoot)))).utf8)
        let nr = try XCTUnwrap(JSONSerialization.jsonObject(with: notRoot) as? [String: Any])
        let nrDM = try XCTUnwrap((nr["facts"] as? [String: Any])?["device_mapper"] as? [String: Any])
        XCTAssertEqual(nrDM["status"] as? String, "not-root")
        XCTAssertTrue(nrDM["driver_version"] is NSNull)
        XCTAssertTrue((nr["facts"] as? [String: Any])?["device"] is NSNull)
    }

    // MARK: parsing

    func testVersionParsing() {
        XCTAssertEqual(TargetVersion(parsing: "6.12.95+deb12-amd64"), TargetVersion(6, 12, 95))
        XCTAssertEqual(TargetVersion(parsing: "6.6.0-28-generic"), TargetVersion(6, 6, 0))
        XCTAssertEqual(TargetVersion(parsing: "6.11"), TargetVersion(6, 11, 0))
        XCTAssertEqual(TargetVersion(parsing: "2.8.8"), TargetVersion(2, 8, 8))
        XCTAssertEqual(TargetVersion(parsing: "6.18.44-fc-v657"), TargetVersion(6, 18, 44))
        XCTAssertNil(TargetVersion(parsing: "6"))
        XCTAssertNil(TargetVersion(parsing: "linux"))
        XCTAssertNil(TargetVersion(parsing: ""))
    }

    func testProcCryptoNames() {
        let text = """
            name         : gcm(aes)
            driver       : generic-gcm-aesni
            module       : kernel
            type         : aead

            name         : aegis128
            driver       : aegis128-generic
            type         : aead
            """
        XCTAssertEqual(ProcCrypto.names(text), ["gcm(aes)", "aegis128"])
    }

    func testDefaultChoice() {
        XCTAssertEqual(AuthenticatedCipher.defaultChoice(aegis128Available: true).name, "aegis128-random/aead")
        XCTAssertEqual(AuthenticatedCipher.defaultChoice(aegis128Available: false).name, "aes-gcm-random/aead")
    }
}
