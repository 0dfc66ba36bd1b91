import Foundation
import XCTest

/// Every LBA format QEMU's NVMe offers (issue 17.4): each one made with
/// `nvme-format`, the kernel's view checked (sysfs), then what fits is used and
/// what does not is refused with the reason. An authenticated volume (aegis128:
/// 16-byte IV + 16-byte tag = 32 bytes per sector) keeps its tags inline in 64
/// bytes of metadata; with 0, 8 or 16 it is made on the dm-integrity layout
/// (and says why when there was some metadata); dm-integrity's Inline mode with
/// crc32c (4 bytes) fits in any metadata; a format with protection information
/// is refused for both, with that reason.
///
/// Kernel-independent beyond NVMe and device-mapper: runs in the inline-encryption
/// kernel's suite only.
final class LBAFormatIntegrationTests: LUKSTestCase {
    var ns: KernelNamespace!

    override func setUpWithError() throws {
        try super.setUpWithError()
        // One kernel is enough (NVMe formats and device-mapper checks do not depend on
        // the build); the inline kernel's suite has the time to spare in Scripts/test.
        guard VM.kernelKind == "inline" else {
            throw XCTSkip("skipped, because the LBA-format matrix runs in the inline-encryption kernel's suite (it does not depend on the kernel build)")
        }
        ns = try KernelNamespace.byNSID(1)
    }

    override func tearDownWithError() throws {
        for name in (try? dmNames()) ?? [] where name.hasPrefix("lbaf-") { _ = try? execute([VM.swcrypt, "unmap", name]) }
        if let ns { _ = try? swcrypt("nvme-format", ns.path, "--lbaf", "7", "--batch-mode") }
        _ = try? sh("rm -rf \(dir)")
    }

    /// QEMU's formats (KERNEL-FACTS): index -> (data bytes, metadata bytes).
    static let formats: [(Int, Int, Int)] = [(0, 512, 0), (1, 512, 8), (2, 512, 16), (3, 512, 64),
                                             (4, 4096, 0), (5, 4096, 8), (6, 4096, 16), (7, 4096, 64)]

    func testEveryFormatIsUsedOrRefusedWithItsReason() throws {
        try must(["bash", "-c", "printf 'lba formats' > \(dir)/key"])
        var report = [String]()
        for (lbaf, data, meta) in Self.formats {
            let f = try swcrypt("nvme-format", ns.path, "--lbaf", "\(lbaf)", "--batch-mode")
            XCTAssertEqual(f.status, 0, "lbaf \(lbaf): \(f.stderr)")
            // The kernel's view of the new geometry.
            XCTAssertEqual(ns.logicalBlockSize, data, "lbaf \(lbaf): logical_block_size")
            XCTAssertEqual(ns.metadataBytes, meta, "lbaf \(lbaf): metadata_bytes")

            // A LUKS2 volume: inline tags where 32 bytes fit (64), else the
            // dm-integrity layout, saying why when the device has some metadata.
            let v = try execute([VM.swcrypt, "format", ns.path, "--key-file", "\(dir)/key", "--batch-mode", "--no-wipe"] + fastPBKDF)
            var line = "lbaf \(lbaf) (\(data)+\(meta)): format exit \(v.status)"
            XCTAssertEqual(v.status, 0, "lbaf \(lbaf): \(v.stderr)")
            let dump = try must([cryptsetup, "luksDump", ns.path]).stdout
            if meta >= 32 {
                // Inline tags: one encryption sector per logical block.
                XCTAssertTrue(dump.contains("sector: \(data) [bytes]"), "lbaf \(lbaf): sector size\n\(dump)")
                XCTAssertTrue(dump.contains("inline-hw-tags"), "lbaf \(lbaf): the witness sees no inline requirement:\n\(dump)")
                line += ", inline tags"
            } else {
                XCTAssertFalse(dump.contains("inline-hw-tags"), "lbaf \(lbaf): inline tags in \(meta) bytes of metadata:\n\(dump)")
                XCTAssertTrue(dump.contains("integrity: aead"), "lbaf \(lbaf): the witness sees no integrity:\n\(dump)")
                if meta > 0 {
                    XCTAssertTrue(v.stderr.contains("the device has \(meta) metadata bytes per sector, fewer than the 32"), "lbaf \(lbaf): \(v.stderr)")
                }
                line += ", dm-integrity layout"
            }
            // dm-integrity Inline with crc32c (4 bytes): fits wherever there is metadata.
            try VM.wipeSignatures(ns.path)
            let m = try execute([VM.swcrypt, "map", "integrity", "lbaf-int", ns.path, "--mode", "I", "--internal-hash", "crc32c"])
            line += "; map integrity I crc32c exit \(m.status)"
            if meta >= 4 {
                XCTAssertEqual(m.status, 0, "lbaf \(lbaf): \(m.stderr)")
                if m.status == 0 {
                    XCTAssertTrue(try roundTrip("/dev/mapper/lbaf-int", mib: 4), "lbaf \(lbaf): data read back through dm-integrity Inline")
                    let table = try must(["dmsetup", "table", "lbaf-int"]).stdout
                    XCTAssertTrue(table.contains(" I ") && table.contains("internal_hash:crc32c"), "lbaf \(lbaf): \(table)")
                    try must([VM.swcrypt, "unmap", "lbaf-int"])
                }
            } else {
                XCTAssertNotEqual(m.status, 0, "lbaf \(lbaf): mapped Inline integrity without metadata")
                XCTAssertEqual(m.stderr.split(separator: "\n").count, 1, "lbaf \(lbaf): \(m.stderr)")
                line += " (\(m.stderr.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: " / ")))"
            }
            report.append(line)
        }

        // Protection information takes the metadata: formatted (with the warning),
        // then every use for tags is refused with that reason.
        let pi = try swcrypt("nvme-format", ns.path, "--lbaf", "5", "--pi", "1", "--batch-mode")
        XCTAssertEqual(pi.status, 0, pi.stderr)
        XCTAssertNotEqual(sysfs("\(ns.sys)/integrity/format") ?? "none", "none", "the kernel's view: a PI profile")
        let v = try execute([VM.swcrypt, "format", ns.path, "--key-file", "\(dir)/key", "--batch-mode", "--no-wipe"] + fastPBKDF)
        XCTAssertNotEqual(v.status, 0, "formatted a volume over protection information")
        XCTAssertTrue(v.stderr.contains("protection information"), v.stderr)
        let m = try execute([VM.swcrypt, "map", "integrity", "lbaf-int", ns.path, "--mode", "I", "--internal-hash", "crc32c"])
        XCTAssertNotEqual(m.status, 0, "mapped Inline integrity over protection information")
        XCTAssertTrue(m.stderr.contains("protection information"), m.stderr)
        report.append("lbaf 5 with PI type 1 (\(sysfs("\(ns.sys)/integrity/format") ?? "?")): format exit \(v.status) (\(v.stderr.trimmingCharacters(in: .whitespacesAndNewlines))); map integrity exit \(m.status) (\(m.stderr.trimmingCharacters(in: .whitespacesAndNewlines)))")
        print("lba-formats:\n  " + report.joined(separator: "\n  "))
    }
}
