import SwcryptCore
import XCTest
@testable import SwcryptCore
@testable import SwcryptSystem
@testable import SwcryptKit
import SwcryptReports

/// What users see, pinned: every command's human lines and `--json` text, rendered
/// from fixture facts and compared byte for byte with the files in Golden/.
/// Recorded before the restructure of issue 14 and not to change with it; a
/// change of output is a change of these files, reviewed as such.
/// `SWCRYPT_GOLDEN_RECORD=1 swift test --filter GoldenOutputTests` writes missing
/// or changed files instead of failing (then read the diff).
final class GoldenOutputTests: XCTestCase {
    func golden(_ name: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertGolden(name, text, file: file, line: line)
    }

    func golden(_ name: String, lines: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        try golden(name + ".txt", lines.joined(separator: "\n") + "\n", file: file, line: line)
    }

    func golden<T: Encodable>(_ name: String, json value: T, file: StaticString = #filePath, line: UInt = #line) throws {
        try golden(name + ".json", try JSONText.encode(value) + "\n", file: file, line: line)
    }

    // MARK: fixtures

    static let kernel612 = KernelTargets(["crypt": TargetVersion(1, 28, 0), "integrity": TargetVersion(1, 13, 0),
                                          "linear": TargetVersion(1, 4, 0)])

    func namespace(flbas: UInt8, metadata: Int, format: String, capacity: UInt64 = 512 << 20) throws -> NamespaceReport {
        NamespaceReport(device: "/dev/nvme0n1", nsid: 1,
                        identify: try IdentifyNamespace(bytes: qemuIdentifyNamespace(flbas: flbas)),
                        kernel: blockTarget(path: "/dev/nvme0n1", name: "nvme0n1", kind: .nvmeNamespace(nsid: 1),
                                            logicalBlockSize: 4096, sizeBytes: capacity, metadataBytes: metadata,
                                            integrityFormat: format).device)
    }

    func checkFacts(root: Bool = true, dm: DeviceMapperFacts.Access? = nil, aegis: CryptoAvailability = .available,
                    cryptsetup: String? = "2.8.8", inlineTags: Bool = true, device: CheckedDevice? = nil) -> CheckFacts {
        let aeads = AuthenticatedCipher.common.map { c -> AEADFact in
            let availability: CryptoAvailability = c.cipher.cipher == "aegis128" ? aegis : .available
            return AEADFact(cipher: c, algorithm: KernelCipher(c.cipher, integrity: c.integrity).algorithm,
                            availability: availability, listedInProcCrypto: availability == .available,
                            mibPerSecond: availability == .available ? 1234.56 : nil)
        }
        return CheckFacts(kernelRelease: "6.12.95+deb12-amd64", isRoot: root, modulesDirectory: "/lib/modules/6.12.95+deb12-amd64",
                              modules: ModuleFact.inspected.map { ModuleFact(name: $0.name, state: $0.name == "dm_crypt" ? .loadable : .loaded,
                                                                             loadedByCheck: $0.name == "dm_crypt") },
                              deviceMapper: DeviceMapperFacts(dm ?? .queried(driver: "4.48.0", targets: Self.kernel612)),
                              aeads: aeads, cryptsetupVersion: cryptsetup, cryptsetupHasInlineTags: inlineTags, device: device)
    }

    func nvmeDevice(metadata: Int, format: String) throws -> CheckedDevice {
        let report = try namespace(flbas: metadata == 64 ? 7 : 4, metadata: metadata, format: format)
        return CheckedDevice(path: "/dev/nvme0n1", device: report.kernel, namespace: report)
    }

    func blockDevice(_ name: String, size: UInt64 = 512 << 20, metadata: Int? = 64, format: String = "nop") -> BlockDevice {
        BlockDevice(name: name, major: 259, minor: 1, kind: .nvmeNamespace(nsid: 1), logicalBlockSize: 4096,
                    physicalBlockSize: 4096, sizeBytes: size, metadataBytes: metadata, integrity: IntegrityProfile(sysfs: format),
                    integrityTagSize: 0, holders: [], partitions: ["nvme0n1p1"])
    }

    static let inlineVolume = LUKSInfo(type: "LUKS2", uuid: "0f2c6c7e-5d1b-4b51-9f1e-2f6a1c0b9d11", cipher: "aegis128",
                                       cipherMode: "random", integrity: "aead", tagBytes: 32, layout: .inlineHardware,
                                       sectorSize: 4096, keyBytes: 16, device: "/dev/nvme0n1", dataOffset: 32768,
                                       keyslots: [0], label: "backups", subsystem: "", requirements: ["inline-hw-tags"])
    static let journalVolume = LUKSInfo(type: "LUKS2", uuid: "5a9e0d3c-8c43-4f7e-a1b2-0c9d8e7f6a5b", cipher: "aes",
                                        cipherMode: "gcm-random", integrity: "aead", tagBytes: 28,
                                        layout: .dmIntegrity(journal: true), sectorSize: 4096, keyBytes: 32,
                                        device: "/dev/nvme0n2", dataOffset: 32768, keyslots: [0, 1], label: "",
                                        subsystem: uninitialisedMarker)

    // MARK: id-ns

    func testIdNs() throws {
        for (name, flbas, metadata, format) in [("id-ns-ready", UInt8(7), 64, "nop"), ("id-ns-no-metadata", 4, 0, "none"),
                                                ("id-ns-protection-information", 7, 64, "T10-DIF-TYPE1-CRC")] {
            let r = try namespace(flbas: flbas, metadata: metadata, format: format)
            try golden(name, lines: r.lines)
            try golden(name, json: NamespaceReportJSON(r))
        }
        try golden("id-ns-capacity-zero", lines: try namespace(flbas: 7, metadata: 64, format: "nop", capacity: 0).lines)
    }

    // MARK: check

    func testCheck() throws {
        let cases: [(String, CheckFacts)] = [
            ("check-inline-namespace", checkFacts(device: try nvmeDevice(metadata: 64, format: "nop"))),
            ("check-emulated-namespace", checkFacts(device: try {
                var d = try nvmeDevice(metadata: 64, format: "nop")
                (d.controllerModel, d.controllerFirmware) = ("QEMU NVMe Ctrl", "10.0.2")
                return d
            }())),
            ("check-namespace-without-metadata", checkFacts(aegis: .missing, device: try nvmeDevice(metadata: 0, format: "none"))),
            ("check-not-root", checkFacts(root: false, dm: .notRoot, aegis: .unknown("no AF_ALG (CONFIG_CRYPTO_USER_API_AEAD)"))),
            ("check-no-device-mapper-old-library", checkFacts(dm: .unavailable("/dev/mapper/control: No such file or directory"),
                                                             cryptsetup: "2.6.1", inlineTags: false,
                                                             device: CheckedDevice(path: "/dev/sdb", device: blockTarget(
                                                                path: "/dev/sdb", name: "sdb", kind: .scsiDisk, logicalBlockSize: 512, physicalBlockSize: 4096,
                                                                sizeBytes: 8 << 30, metadataBytes: 8, integrityFormat: "T10-DIF-TYPE1-CRC",
                                                                holders: [Holder(kernelName: "dm-0", mappingName: "vg0-root")]).device, mounts: ["/dev/sdb1 on /srv"]))),
        ]
        for (name, facts) in cases {
            let r = CheckReport(facts: facts)
            try golden(name, lines: r.lines)
            try golden(name, json: CheckReportJSON(r))
        }
    }

    // MARK: watch

    static let watchedVault = WatchedVolume(name: "vault", uuid: inlineVolume.uuid, dataDevice: "/dev/nvme0n1",
                                            dataKernelNames: ["nvme0n1", "nvme0c0n1"], mappingKernelNames: ["dm-3"],
                                            layout: .inlineHardware, dataOffset: 32768, logicalBlockBytes: 4096)

    static func watchEvent(_ line: String, sequence: UInt64) -> IntegrityEvent {
        IntegrityEvent(failure: IntegrityFailure(line: line)!,
                       record: KernelLogRecord(level: 3, sequence: sequence, microseconds: 96_044_219, message: line),
                       time: 1_796_170_000.25, among: [watchedVault])
    }

    static var watchCounters: WatchCounters {
        var c = WatchCounters(bootID: "5f1e9c8a-0d2b-4c6e-9a7f-3b1d2e4f6a8c", since: 1_796_000_000)
        c.track(watchedVault)
        c.record(watchEvent("device-mapper: crypt: nvme0c0n1: INTEGRITY AEAD ERROR, sector 80", sequence: 1487))
        c.record(watchEvent("nvme0c0n1: Read(0x2) @ LBA 4104, 1 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) DNR ", sequence: 1490))
        c.record(watchEvent("device-mapper: integrity: dm-9: Checksum failed at sector 0x10", sequence: 1491))
        var other = watchedVault
        other.name = "archive"; other.uuid = "d3b07384-d113-4ec6-a2f5-7c3e1f0b9a42"
        c.track(other)
        c.lastSequence = 1491
        return c
    }

    func testWatch() throws {
        let lines = ["device-mapper: crypt: nvme0c0n1: INTEGRITY AEAD ERROR, sector 80",
                     "nvme0c0n1: Read(0x2) @ LBA 4104, 1 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) DNR ",
                     "device-mapper: integrity: dm-9: Checksum failed at sector 0x10"]
        let reports = lines.enumerated().map { WatchEventReport(Self.watchEvent($1, sequence: 1487 + UInt64($0))) }
        try golden("watch-events.jsonl", reports.map { try JSONText.line($0) }.joined())
        try golden("watch-journal", lines: reports.flatMap { $0.journalFields.map { "\($0.0)=\($0.1)" } + [""] })
        try golden("watch-counters.json", Self.watchCounters.json)
        XCTAssertEqual(WatchCounters(json: Self.watchCounters.json), Self.watchCounters)
        var open = Self.watchedVault
        open.name = "vault\"x"
        var c = Self.watchCounters
        c.track(open)
        try golden("watch-textfile.prom", PrometheusTextfile.render(c, open: [open]))
    }

    // MARK: format, status, dump

    func testVolume() throws {
        let active = ActiveVolume(offset: 32768, size: 1_015_808, readOnly: true, noJournal: false, busy: false)
        let errors = IntegrityErrorSummary(count: 3, lastDevice: "nvme0c0n1", lastSector: 88080384)
        let recorded = Self.watchCounters
        try golden("status-inline", lines: VolumeReport(status: Self.inlineVolume, active: active, name: "vault", errors: errors, recorded: recorded).lines)
        try golden("status-inline", json: VolumeReport(status: Self.inlineVolume, active: active, name: "vault", errors: errors, recorded: recorded))
        let clean = IntegrityErrorSummary(count: 0, lastDevice: nil, lastSector: nil)
        let writable = ActiveVolume(offset: 32768, size: 1_015_808, readOnly: false, noJournal: true, busy: true)
        try golden("status-journal-uninitialised", lines: VolumeReport(status: Self.journalVolume, active: writable, name: "scratch", errors: clean, recorded: nil).lines)
        try golden("status-journal-uninitialised", json: VolumeReport(status: Self.journalVolume, active: writable, name: "scratch", errors: clean, recorded: nil))
        try golden("dump-inline", lines: VolumeReport(header: Self.inlineVolume).lines)
        try golden("dump-inline", json: VolumeReport(header: Self.inlineVolume))
        try golden("dump-journal", lines: VolumeReport(header: Self.journalVolume).lines)
        try golden("dump-journal", json: VolumeReport(header: Self.journalVolume))

        let target = BlockTarget(path: "/dev/nvme0n1", device: blockDevice("nvme0n1"))
        let plan = VolumeFormatPlan(request: VolumeFormatRequest(path: "/dev/nvme0n1", passphrase: .file("/root/key")),
                                    target: target, spec: CipherSpec(cryptsetup: "aegis128-random")!, integrity: .aead,
                                    tagBytes: 32, keyBytes: 16, sectorSize: 4096, layout: .inlineHardware, reformat: nil,
                                    signatures: .probed([DeviceSignature(type: "ext4", usage: "filesystem", label: "old", offset: 1080)]), warnings: [])
        var wipe = WipeProgress(done: 512 << 20, total: 512 << 20, seconds: 3.25)
        wipe.inFlight = 4
        wipe.ramp = [.init(inFlight: 1, bytesPerSecond: 90 * 1_048_576), .init(inFlight: 2, bytesPerSecond: 150 * 1_048_576),
                     .init(inFlight: 4, bytesPerSecond: 160.04 * 1_048_576)]
        let result = VolumeFormatResult(device: "/dev/nvme0n1", info: Self.inlineVolume, initialised: true, wipe: wipe, verified: true)
        let report = FormatVolumeReport(plan: plan, result: result)
        try golden("format-inline", lines: plan.summaryLines + ["--"] + report.lines)
        try golden("format-inline", json: report.json)
        let unwiped = VolumeFormatResult(device: "/dev/nvme0n1", info: Self.inlineVolume, initialised: false, wipe: nil, verified: false)
        try golden("format-no-wipe", lines: FormatVolumeReport(plan: plan, result: unwiped).lines)
    }

    // MARK: map, ls

    func testMappings() throws {
        let crypt = MappingInfo(name: "ci-vol", uuid: "SWCRYPT-crypt-ci-vol", major: 253, minor: 3, openCount: 0,
                                targetCount: 1, suspended: false, readOnly: false)
        let integrity = MappingInfo(name: "ci-vol_dif", uuid: "SWCRYPT-integrity-ci-vol", major: 253, minor: 2,
                                    openCount: 1, targetCount: 1, suspended: false, readOnly: false)
        try golden("map-crypt-emulated", lines: [integrity, crypt].map { MappingReport($0).line })
        try golden("map-crypt-emulated", json: [integrity, crypt].map(MappingReport.init))
        let stacks = [StackSummary(name: "ci-vol", stack: "ci-vol", layers: [crypt, integrity])].map(StackReport.init)
        try golden("ls", lines: stacks.map(\.line))
        try golden("ls", json: stacks)
    }

    // MARK: testdev

    func testTestDevices() throws {
        let devices = [
            TestDevice(kind: .nullBlk, name: "swcrypt-nb0", device: "/dev/swcrypt-nb0", sizeBytes: 64 << 20,
                       logicalBlockSize: 4096, integrityFormat: "none", backingFile: nil, directIO: nil),
            TestDevice(kind: .loop, name: "loop3", device: "/dev/loop3", sizeBytes: 128 << 20, logicalBlockSize: 512,
                       integrityFormat: "none", backingFile: "/var/lib/swcrypt/testdev/loop-1.img", directIO: true),
        ]
        try golden("testdev-ls", lines: devices.map { TestDeviceReport($0).line })
        try golden("testdev-ls", json: TestDeviceListReport(devices))
        try golden("testdev-create-loop", json: TestDeviceReport(devices[1]))
    }

    // MARK: inline-crypto

    func testInlineCrypto() throws {
        let ufs = InlineCryptoCapability(modes: [InlineCryptoMode(name: "AES-256-XTS", dataUnitMask: 0x1200)],
                                         maxDUNBits: 64, keyslots: 32, hardwareWrappedKeys: false, rawKeys: true)
        let small = InlineCryptoCapability(modes: [InlineCryptoMode(name: "AES-256-XTS", dataUnitMask: 0x1000)],
                                           maxDUNBits: 32, keyslots: 8)
        let fallback = BlkCryptoFallback(enabled: true, blockLayerSupport: true, source: "CONFIG_BLK_INLINE_ENCRYPTION_FALLBACK=y in /boot/config-6.12.0")
        let one = InlineCryptoReport(devices: [.init(path: "/dev/sda", sysfsPath: "/sys/block/sda/queue/crypto", capability: ufs)],
                                     fallback: fallback)
        try golden("inline-crypto-one", lines: one.lines)
        try golden("inline-crypto-one", json: InlineCryptoReportJSON(one))
        let two = InlineCryptoReport(devices: [.init(path: "/dev/sda", sysfsPath: "/sys/block/sda/queue/crypto", capability: ufs),
                                               .init(path: "/dev/sdb", sysfsPath: "/sys/block/sdb/queue/crypto", capability: small)],
                                     fallback: fallback, dataUnitSize: 4096)
        try golden("inline-crypto-passthrough", lines: two.lines)
        try golden("inline-crypto-passthrough", json: InlineCryptoReportJSON(two))
        let none = InlineCryptoReport(devices: [.init(path: "/dev/vda", sysfsPath: "/sys/block/vda/queue/crypto", capability: nil),
                                                .init(path: "/dev/sda", sysfsPath: "/sys/block/sda/queue/crypto", capability: ufs)],
                                      fallback: BlkCryptoFallback(enabled: nil, blockLayerSupport: nil, source: "no /boot/config-6.12.0"))
        try golden("inline-crypto-none", lines: none.lines)
        try golden("inline-crypto-none", json: InlineCryptoReportJSON(none))
    }

    // MARK: nvme-format

    func testNvmeFormat() throws {
        let identify = try IdentifyNamespace(bytes: qemuIdentifyNamespace(flbas: 4))
        let target = NVMeNamespaceTarget(path: "/dev/nvme0n1", device: blockDevice("nvme0n1", metadata: 0, format: "none"),
                                         nsid: 1, controllers: ["nvme0"])
        let plan = FormatPlan(target: target, from: identify.lbafs[4], to: identify.lbafs[7],
                              affected: [target.device], request: FormatRequest(path: "/dev/nvme0n1", selection: .index(7)))
        let result = FormatResult(plan: plan,
                                  before: blockDevice("nvme0n1", metadata: 0, format: "none"),
                                  after: blockDevice("nvme0n1", metadata: 64, format: "nop"),
                                  deviceAfter: "/dev/nvme0n1", warnings: ["the kernel took 2.0 s to show the new format"])
        try golden("nvme-format", lines: plan.summaryLines + ["--"] + NvmeFormatReport(result).lines)
        try golden("nvme-format", json: NvmeFormatReport(result))
    }

    // MARK: progress, version, errors

    func testProgressVersionAndErrors() throws {
        var lines = [String]()
        for (done, seconds, phase) in [(UInt64(0), 0.0, WipeProgress.Phase.wipe), (256 << 20, 2.0, .wipe), (512 << 20, 4.0, .verify)] {
            let p = WipeProgress(done: done, total: 512 << 20, seconds: seconds, phase: phase)
            lines.append(ProgressOutput.terminalLine(p).replacingOccurrences(of: "\r", with: "\\r"))
            lines.append(ProgressOutput.jsonLine(device: "/dev/nvme0n1 \"x\"", p).trimmingCharacters(in: .newlines))
        }
        lines += VersionInfo(swcrypt: "0.1.0+git120.gabcdef0", libcryptsetup: "2.8.8",
                             libcryptsetupPath: "/usr/lib/swcrypt/libcryptsetup.so.12", inlineHWTags: true).lines
        lines += VersionInfo(swcrypt: "0.1.0", libcryptsetup: nil, libcryptsetupPath: nil, inlineHWTags: false).lines
        lines += [
            SwcryptError(.wrongDevice, device: "/dev/nvme9n1", "no such device", cause: "No such file or directory").description,
            SwcryptError(.busy, device: "/dev/nvme0n1", "in use: mounted (/dev/nvme0n1 on /mnt)").description,
            SwcryptError(.permission, "format needs root").description,
        ]
        try golden("progress-version-errors", lines: lines)
    }

    // MARK: key list, dump --json with the metadata (issue 15)

    func testKeyslotsAndMetadata() throws {
        let slots = [
            Keyslot(number: 0, pbkdf: "argon2id", hash: nil, iterations: 4, memoryKiB: 32, threads: 1, priority: .normal, tokens: []),
            Keyslot(number: 1, pbkdf: "pbkdf2", hash: "sha256", iterations: 1000, memoryKiB: nil, threads: nil, priority: .prefer, tokens: [0]),
        ]
        let report = KeyslotListReport(device: "/dev/nvme0n1", keyslots: slots, tokens: [LUKSToken(id: 0, type: "clevis", keyslots: [1])])
        try golden("key-list", lines: report.lines)
        try golden("key-list", json: report.json)
        let metadata = try JSONValue(parsing: """
            {"keyslots":{"0":{"type":"luks2","key_size":16,"kdf":{"type":"argon2id","time":4,"memory":32,"cpus":1,"salt":"c2FsdA=="}}},
             "tokens":{},"segments":{"0":{"type":"crypt","offset":"16777216","size":"dynamic","encryption":"aegis128-random",
             "sector_size":4096,"integrity":{"type":"aead","journal_encryption":"none","journal_integrity":"none","key_size":0}}},
             "digests":{},"config":{"json_size":"12288","keyslots_size":"16744448","requirements":{"mandatory":["inline-hw-tags"]}}}
            """)
        try golden("dump-inline-metadata", json: DumpReport(summary: VolumeReport(header: Self.inlineVolume), metadata: metadata))
    }
}
