import XCTest
@testable import SwcryptCore
import SwcryptReports

final class ReportTests: XCTestCase {
    func report(flbas: UInt8, metadata: Int, format: String, capacity: UInt64 = 512 << 20) throws -> NamespaceReport {
        NamespaceReport(device: "/dev/nvme0n1", nsid: 1,
                        identify: try IdentifyNamespace(bytes: qemuIdentifyNamespace(flbas: flbas)),
                        kernel: blockTarget(path: "/dev/nvme0n1", logicalBlockSize: 4096, sizeBytes: capacity,
                                            metadataBytes: metadata, integrityFormat: format).device)
    }

    func testFitsPerGeometry() throws {
        let r = try report(flbas: 7, metadata: 64, format: "nop")
        let lines = r.lines
        XCTAssertTrue(lines.contains("4096+64: fits aegis128-random/aead (32 B), aes-gcm-random/aead (28 B), chacha20-random/poly1305 (28 B), aes-xts-random/hmac-sha256 (48 B)"), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains("4096+16: fits none (smallest tag needs 28 B)"))
        XCTAssertTrue(r.verdict.hasPrefix("ready: the format in use (4096+64, lbaf 7) holds aegis128-random/aead"))
    }

    func testVerdictSuggestsSmallestFittingFormat() throws {
        let r = try report(flbas: 4, metadata: 0, format: "none")
        XCTAssertEqual(r.smallestFormat(holding: AuthenticatedCipher.common[0])?.index, 7)
        XCTAssertTrue(r.verdict.contains("swcrypt nvme-format /dev/nvme0n1 --lbaf 7"), r.verdict)
    }

    func testVerdictProtectionInformation() throws {
        let r = try report(flbas: 7, metadata: 64, format: "T10-DIF-TYPE1-CRC")
        XCTAssertTrue(r.verdict.contains("protection information"), r.verdict)
    }

    func testJSONShape() throws {
        let r = try report(flbas: 7, metadata: 64, format: "nop")
        let data = Data(try JSONText.encode(NamespaceReportJSON(r)).utf8)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["in_use"] as? Int, 7)
        XCTAssertEqual(object["nlbaf"] as? Int, 7)
        let lbafs = try XCTUnwrap(object["lbafs"] as? [[String: Any]])
        XCTAssertEqual(lbafs[7]["data_size"] as? Int, 4096)
        XCTAssertEqual(lbafs[7]["in_use"] as? Bool, true)
        XCTAssertEqual(lbafs[6]["in_use"] as? Bool, false)
        let kernel = try XCTUnwrap(object["kernel"] as? [String: Any])
        XCTAssertEqual(kernel["metadata_bytes"] as? Int, 64)
        XCTAssertEqual(kernel["integrity_format"] as? String, "nop")
    }

    func testMountInfoParsing() {
        let text = """
            22 1 259:1 / /mnt/my\\040disk rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw
            23 1 0:21 / /proc rw - proc proc rw
            """
        let entries = MountEntry.parse(text)
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries[0].mountPoint, "/mnt/my disk")
        XCTAssertEqual(entries[0].major, 259)
        XCTAssertEqual(entries[0].source, "/dev/nvme0n1p1")
    }
}
