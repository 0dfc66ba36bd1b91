import Foundation
import XCTest
@testable import SwcryptBenchKit

/// What the runner reads in the guest, on fixture trees: namespaces by nsid, write
/// counters summed over native-multipath paths, the crypto drivers, swcrypt's and
/// cryptsetup's own timings of their wipes, and the read-back witness.
final class GuestSystemTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("bench-sysfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func write(_ path: String, _ text: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// stat with `written` sectors in field 7.
    func stat(_ written: Int) -> String {
        "    1041        0    66688      132    41070        0 \(written)   123456        0    13068   123588        0        0        0        0\n"
    }

    /// QEMU >= 8: heads nvme0n1 (nsid 2, scanned first) and nvme0n2 (nsid 1), each
    /// with one hidden path; the head's own counter stays 0.
    func multipathTree() throws {
        for (head, nsid, path, written) in [("nvme0n1", 2, "nvme0c0n1", 4096), ("nvme0n2", 1, "nvme0c0n2", 2_000_000)] {
            try write("sys/class/block/\(head)/dev", "259:\(nsid)\n")
            try write("sys/class/block/\(head)/nsid", "\(nsid)\n")
            try write("sys/class/block/\(head)/size", "1032192\n")
            try write("sys/class/block/\(head)/stat", stat(0))
            try write("sys/class/block/\(head)/multipath/\(path)", "")
            try write("sys/class/block/\(path)/stat", stat(written))
            try write("sys/class/block/\(path)/nsid", "\(nsid)\n")
        }
        try write("sys/class/block/nvme0n2/metadata_bytes", "64\n")
    }

    func testNamespacesAndCounters() throws {
        try multipathTree()
        let system = GuestSystem(sysRoot: root.path + "/sys", procRoot: root.path + "/proc")
        XCTAssertEqual(system.namespaces(), [1: "nvme0n2", 2: "nvme0n1"])
        XCTAssertEqual(system.sectorsWritten("nvme0n2"), 2_000_000)
        XCTAssertEqual(system.sectorsWritten("nvme0n1"), 4096)
        XCTAssertEqual(system.metadataBytes("nvme0n2"), 64)
    }

    func testCounterWithoutMultipath() throws {
        try write("sys/class/block/nvme0n1/dev", "259:0\n")
        try write("sys/class/block/nvme0n1/stat", stat(777))
        XCTAssertEqual(GuestSystem(sysRoot: root.path + "/sys").sectorsWritten("nvme0n1"), 777)
    }

    func testCryptoDrivers() throws {
        try write("proc/crypto", """
            name         : gcm(aes)
            driver       : generic-gcm-aesni
            module       : aesni_intel

            name         : aegis128
            driver       : aegis128-generic

            name         : aegis128
            driver       : aegis128-aesni

            name         : sha256
            driver       : sha256-avx2

            name         : gcm(aes)
            driver       : generic-gcm-aesni

            """)
        XCTAssertEqual(GuestSystem(procRoot: root.path + "/proc").cryptoDrivers(),
                       "aegis128=aegis128-aesni aegis128=aegis128-generic gcm(aes)=generic-gcm-aesni")
    }

    func testSwcryptsOwnTiming() {
        XCTAssertNil(GuestRunner.swcryptReport(["formatted", "opened"]))
        let r = GuestRunner.swcryptReport(["  initialised 100.0 MiB in 9.9 s (10.1 MiB/s)", "  initialised 488.1 MiB in 1.8 s (271.2 MiB/s, depth 2)"])
        XCTAssertEqual(r?.mib, 488.1)
        XCTAssertEqual(r?.seconds, 1.8)
        XCTAssertEqual(GuestRunner.swcryptReport(["  initialised 1.5 GiB in 6.0 s (256.0 MiB/s)"])?.mib, 1536)
    }

    func testCryptsetupProgressLine() throws {
        let line = #"{"device":"/dev/nvme0n1","device_bytes":"511705088","device_size":"511705088","speed":"282741498","eta_ms":"0","time_ms":"1807"}"#
        let p = try JSONDecoder().decode(CryptsetupProgress.self, from: Data(line.utf8))
        XCTAssertEqual(p.deviceBytes, "511705088")
        XCTAssertEqual(p.timeMs, "1807")
    }

    /// The read-back on a regular file (buffered: tmpfs has no O_DIRECT): every
    /// 4 KiB block counted, none unreadable.
    func testReadBack() throws {
        let file = root.appendingPathComponent("img").path
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(count: (1 << 20) + 3 * 4096)))
        XCTAssertEqual(try BlockReadBack.read(file, direct: false), BlockReadBack.Result(unreadableBlocks: 0, blocks: 259))
        XCTAssertThrowsError(try BlockReadBack.read(root.appendingPathComponent("missing").path))
    }
}
