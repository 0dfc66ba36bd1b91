import XCTest
@testable import SwcryptCore

/// Builds Identify Namespace data the way QEMU's emulated NVMe reports it
/// (8 formats: 512 and 4096 with 0/8/16/64 bytes of metadata).
func qemuIdentifyNamespace(flbas: UInt8, nsze: UInt64 = 0x20000, extraFormats: [(ms: UInt16, lbads: UInt8)] = [],
                           nulbaf: UInt8 = 0) -> [UInt8] {
    var b = [UInt8](repeating: 0, count: 4096)
    func put64(_ v: UInt64, _ o: Int) { for i in 0..<8 { b[o + i] = UInt8((v >> (8 * UInt64(i))) & 0xff) } }
    put64(nsze, 0); put64(nsze, 8); put64(nsze, 16)
    b[24] = 0x14 // nsfeat
    let formats: [(UInt16, UInt8)] = [(0, 9), (8, 9), (16, 9), (64, 9), (0, 12), (8, 12), (16, 12), (64, 12)]
        + extraFormats.map { ($0.ms, $0.lbads) }
    b[25] = UInt8(min(formats.count, 16) - 1)
    b[26] = flbas
    b[27] = 0x3 // mc
    b[28] = 0x1f // dpc
    b[82] = nulbaf
    for (i, f) in formats.enumerated() {
        b[128 + 4 * i] = UInt8(f.0 & 0xff)
        b[129 + 4 * i] = UInt8(f.0 >> 8)
        b[130 + 4 * i] = f.1
    }
    return b
}

final class IdentifyTests: XCTestCase {
    func testParsesQEMUFormats() throws {
        let id = try IdentifyNamespace(bytes: qemuIdentifyNamespace(flbas: 7))
        XCTAssertEqual(id.lbafs.count, 8)
        XCTAssertEqual(id.inUseIndex, 7)
        XCTAssertEqual(id.inUse?.geometry, "4096+64")
        XCTAssertEqual(id.lbafs.map(\.geometry),
                       ["512+0", "512+8", "512+16", "512+64", "4096+0", "4096+8", "4096+16", "4096+64"])
        XCTAssertFalse(id.extendedLBA)
    }

    /// The exact nvme-cli lines (nvme-print-stdout.c: "lbaf %2d : ms:%-3d lbads:%-2d rp:%#x %s").
    func testNVMeCLILinesByteForByte() throws {
        let id = try IdentifyNamespace(bytes: qemuIdentifyNamespace(flbas: 7))
        let lines = id.nvmeCLILBAFLines()
        XCTAssertEqual(lines[0], "lbaf  0 : ms:0   lbads:9  rp:0 ")
        XCTAssertEqual(lines[3], "lbaf  3 : ms:64  lbads:9  rp:0 ")
        XCTAssertEqual(lines[7], "lbaf  7 : ms:64  lbads:12 rp:0 (in use)")
        let header = id.nvmeCLIHeaderLines(nsid: 1)
        XCTAssertEqual(header[0], "NVME Identify Namespace 1:")
        XCTAssertEqual(header[1], "nsze    : 0x20000")
        XCTAssertEqual(header[4], "nsfeat  : 0x14")
        XCTAssertEqual(header[5], "nlbaf   : 7")
        XCTAssertEqual(header[6], "flbas   : 0x7")
        XCTAssertEqual(header[9], "dps     : 0")
    }

    func testInUseIndexUsesHighFLBASBits() throws {
        // 20 formats (16 + 4 unique-attribute ones); FLBAS bits 6:5 are index bits 5:4: 0x22 -> 18.
        let extra = (0..<12).map { _ in (ms: UInt16(32), lbads: UInt8(12)) }
        let bytes = qemuIdentifyNamespace(flbas: 0x20 | 0x2, extraFormats: extra, nulbaf: 4)
        let id = try IdentifyNamespace(bytes: bytes)
        XCTAssertEqual(id.lbafs.count, 20)
        XCTAssertEqual(id.inUseIndex, 18)
        XCTAssertEqual(id.nvmeCLILBAFLines()[18], "lbaf 18 : ms:32  lbads:12 rp:0 (in use)")
        XCTAssertEqual(id.nvmeCLILBAFLines()[15], "lbaf 15 : ms:32  lbads:12 rp:0 ")
    }

    func testExtendedLBABit() throws {
        let id = try IdentifyNamespace(bytes: qemuIdentifyNamespace(flbas: 0x17))
        XCTAssertTrue(id.extendedLBA)
        XCTAssertEqual(id.inUseIndex, 7)
    }

    func testShortDataIsAnErrorNotACrash() {
        XCTAssertThrowsError(try IdentifyNamespace(bytes: [1, 2, 3]))
        XCTAssertThrowsError(try IdentifyController(bytes: []))
    }

    func testGarbageNeverTraps() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let id = try IdentifyNamespace(bytes: bytes)
            XCTAssertLessThanOrEqual(id.lbafs.count, 64)
            _ = id.nvmeCLILBAFLines()
            _ = id.inUse
        }
    }

    func testIdentifyControllerFNA() throws {
        var b = [UInt8](repeating: 0, count: 4096)
        b[524] = 0x5
        Array("QEMU NVMe Ctrl".utf8).enumerated().forEach { b[24 + $0.offset] = $0.element }
        let c = try IdentifyController(bytes: b)
        XCTAssertTrue(c.formatAppliesToAllNamespaces)
        XCTAssertFalse(c.secureEraseAppliesToAllNamespaces)
        XCTAssertTrue(c.cryptoEraseSupported)
        XCTAssertEqual(c.model, "QEMU NVMe Ctrl")
    }
}
