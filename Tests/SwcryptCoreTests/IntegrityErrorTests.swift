import XCTest
@testable import SwcryptCore

/// Kernel lines about read-time integrity failures, as seen in the test VM.
final class IntegrityErrorTests: XCTestCase {
    let lines = [
        "trusted_key: device-mapper: crypt: nvme0c0n2: INTEGRITY AEAD ERROR, sector 270416",
        "Buffer I/O error on dev dm-0, logical block 4080, async page read",
        "device-mapper: crypt: nvme0n1: INTEGRITY AEAD ERROR, sector 80",
        "device-mapper: crypt: dm-4: INTEGRITY HMAC ERROR, sector 12",
        "device-mapper: integrity: dm-3: Checksum failed at sector 0x1f8",
        "device-mapper: crypt: nvme0c0n2: INTEGRITY AEAD ERROR, sector 270424",
        "device-mapper: crypt: nvme0c0n2: INTEGRITY AEAD ERROR, sector",
    ]

    func testParse() {
        func f(_ i: Int) -> String? { IntegrityFailure(line: lines[i]).map { "\($0.kind.rawValue) \($0.kernelDevice) \($0.sector ?? 0)" } }
        XCTAssertEqual(f(0), "dm-crypt nvme0c0n2 270416")
        XCTAssertNil(f(1))
        XCTAssertEqual(f(3), "dm-crypt dm-4 12")
        XCTAssertEqual(f(4), "dm-integrity dm-3 504")
        XCTAssertNil(f(6))
    }

    /// nvme_log_error's format (drivers/nvme/host/core.c, 6.12); only status code
    /// type 2 (media and data integrity errors) counts.
    func testNVMeMediaErrors() {
        let media = IntegrityFailure(line: "nvme0c0n1: Read(0x2) @ LBA 2048, 8 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) DNR ")
        XCTAssertEqual(media, IntegrityFailure(kind: .media, kernelDevice: "nvme0c0n1", lba: 2048, blocks: 8,
                                               status: "Unrecovered Read Error (sct 0x2 / sc 0x81)"))
        XCTAssertNil(IntegrityFailure(line: "nvme0n1: Read(0x2) @ LBA 0, 1 blocks, Invalid Field in Command (sct 0x0 / sc 0x2) DNR "))
        XCTAssertNil(IntegrityFailure(line: "nvme nvme0: 2/0/0 default/read/poll queues"))
        XCTAssertEqual(IntegrityFailure(line: "nvme1n1: Write(0x1) @ LBA 16, 1 blocks, End-to-end Guard Check Error (sct 0x2 / sc 0x82) ")?.lba, 16)
    }

    func testSuppressedLines() {
        XCTAssertEqual(IntegrityFailure.suppressed("crypt_convert_block_aead: 12 callbacks suppressed"), 12)
        XCTAssertEqual(IntegrityFailure.suppressed("nvme_log_error: 3 callbacks suppressed"), 3)
        XCTAssertNil(IntegrityFailure.suppressed("ext4_end_bio: 4 callbacks suppressed"))
        XCTAssertNil(IntegrityFailure.suppressed("device-mapper: crypt: nvme0n1: INTEGRITY AEAD ERROR, sector 8"))
    }

    func testKernelLogRecord() {
        let r = KernelLogRecord(record: "3,1487,96044219,-,caller=T123;device-mapper: crypt: nvme0n1: INTEGRITY AEAD ERROR, sector 80\n SUBSYSTEM=block\n")
        XCTAssertEqual(r, KernelLogRecord(level: 3, sequence: 1487, microseconds: 96044219,
                                          message: "device-mapper: crypt: nvme0n1: INTEGRITY AEAD ERROR, sector 80"))
        XCTAssertEqual(KernelLogRecord(record: "30,7,5,-;systemd[1]: x")?.level, 6)
        XCTAssertNil(KernelLogRecord(record: "no header"))
        XCTAssertNil(KernelLogRecord(record: "3,x,5,-;m"))
    }

    func testScanCountsOnlyTheVolumesDevices() {
        let s = IntegrityErrorSummary.scan(lines, devices: ["nvme0n2", "nvme0c0n2"])
        XCTAssertEqual(s, IntegrityErrorSummary(count: 2, lastDevice: "nvme0c0n2", lastSector: 270424))
        XCTAssertEqual(s.summary, "2 in the kernel log for its devices since boot (last: sector 270424, as logged for nvme0c0n2; the kernel rate-limits these lines)")
        XCTAssertEqual(IntegrityErrorSummary.scan(lines, devices: ["sda"]).summary, "none in the kernel log for its devices")
        XCTAssertEqual(IntegrityErrorSummary.scan(lines, devices: ["dm-3"]).count, 1)
    }

    func testAttributionAndOneEventPerFailingRead() {
        var vault = WatchedVolume(name: "vault", uuid: "u1", dataDevice: "/dev/nvme0n1", dataKernelNames: ["nvme0n1", "nvme0c0n1"],
                                  mappingKernelNames: ["dm-3"], layout: .inlineHardware, dataOffset: 32768, logicalBlockBytes: 4096)
        let other = WatchedVolume(name: "other", uuid: "u2", dataDevice: "/dev/nvme0n2", dataKernelNames: ["nvme0n2"],
                                  mappingKernelNames: ["dm-5", "dm-4"], layout: .dmIntegrity(journal: true), dataOffset: 32768,
                                  logicalBlockBytes: 512)
        func event(_ line: String, at time: Double) -> IntegrityEvent {
            IntegrityEvent(failure: IntegrityFailure(line: line)!, record: KernelLogRecord(level: 3, sequence: 1, microseconds: 1, message: line),
                           time: time, among: [vault, other])
        }
        let a = event("device-mapper: crypt: nvme0c0n1: INTEGRITY AEAD ERROR, sector 80", at: 100)
        XCTAssertEqual(a.volume?.name, "vault")
        XCTAssertEqual(a.volumeSector, 80)
        // An LBA in the header area is the device's, not the volume's; dm-integrity's interleaving has no simple place.
        XCTAssertNil(event("nvme0n1: Read(0x2) @ LBA 8, 1 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) ", at: 1).volumeSector)
        XCTAssertEqual(event("nvme0n1: Read(0x2) @ LBA 4097, 1 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) ", at: 1).volumeSector, 8)
        XCTAssertEqual(event("nvme0n2: Read(0x2) @ LBA 40000, 8 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) ", at: 1).volume?.name, "other")
        XCTAssertNil(event("nvme0n2: Read(0x2) @ LBA 40000, 8 blocks, Unrecovered Read Error (sct 0x2 / sc 0x81) ", at: 1).volumeSector)
        XCTAssertEqual(event("device-mapper: crypt: dm-4: INTEGRITY AEAD ERROR, sector 16", at: 1).volume?.name, "other")
        XCTAssertNil(event("device-mapper: crypt: sdb: INTEGRITY AEAD ERROR, sector 16", at: 1).volume)

        var filter = IntegrityEventFilter(window: 10)
        XCTAssertTrue(filter.isNew(a))
        XCTAssertFalse(filter.isNew(event("device-mapper: crypt: nvme0n1: INTEGRITY AEAD ERROR, sector 80", at: 101)),
                       "the page cache's retry of the same read, logged under the head's name")
        XCTAssertTrue(filter.isNew(event("device-mapper: crypt: nvme0n1: INTEGRITY AEAD ERROR, sector 88", at: 101)))
        XCTAssertTrue(filter.isNew(event("device-mapper: crypt: nvme0c0n1: INTEGRITY AEAD ERROR, sector 80", at: 111)),
                      "a read after the window is a new failing read")
        vault.uuid = "u3"
        XCTAssertTrue(filter.isNew(event("device-mapper: crypt: dm-4: INTEGRITY AEAD ERROR, sector 80", at: 111)))
    }

    func testCountersSurviveABootAndSkipWhatWasCounted() {
        var c = WatchCounters(bootID: "b1", since: 5)
        c.lastSequence = 900
        c.suppressed = 2
        c.startBoot("b1")
        XCTAssertEqual(c.lastSequence, 900)
        c.startBoot("b2")
        XCTAssertNil(c.lastSequence, "a new boot's log is read from its start")
        XCTAssertEqual(c.suppressed, 2)
        XCTAssertEqual(WatchCounters(json: c.json), c)
        XCTAssertNil(WatchCounters(json: "{}"))
    }
}
