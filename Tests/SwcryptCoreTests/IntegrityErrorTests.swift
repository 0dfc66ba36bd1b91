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
        XCTAssertEqual(IntegrityErrorSummary.parse(lines[0]).map { "\($0.0) \($0.1)" }, "nvme0c0n2 270416")
        XCTAssertNil(IntegrityErrorSummary.parse(lines[1]))
        XCTAssertEqual(IntegrityErrorSummary.parse(lines[3]).map { "\($0.0) \($0.1)" }, "dm-4 12")
        XCTAssertEqual(IntegrityErrorSummary.parse(lines[4]).map { "\($0.0) \($0.1)" }, "dm-3 504")
        XCTAssertNil(IntegrityErrorSummary.parse(lines[6]))
    }

    func testScanCountsOnlyTheVolumesDevices() {
        let s = IntegrityErrorSummary.scan(lines, devices: ["nvme0n2", "nvme0c0n2"])
        XCTAssertEqual(s, IntegrityErrorSummary(count: 2, lastDevice: "nvme0c0n2", lastSector: 270424))
        XCTAssertEqual(s.summary, "2 in the kernel log for its devices since boot (last: sector 270424, as logged for nvme0c0n2; the kernel rate-limits these lines)")
        XCTAssertEqual(IntegrityErrorSummary.scan(lines, devices: ["sda"]).summary, "none in the kernel log for its devices")
        XCTAssertEqual(IntegrityErrorSummary.scan(lines, devices: ["dm-3"]).count, 1)
    }
}
