import Foundation
import XCTest

/// `swcrypt check` against the VM's kernel, with uname, dmsetup and sysfs as witnesses.
final class CheckIntegrationTests: XCTestCase {
    override func setUpWithError() throws { try VM.require() }

    func json(_ r: Result) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
    }

    /// "crypt            v1.28.0" -> "1.28.0", from `dmsetup targets`.
    func dmsetupTarget(_ name: String) throws -> String? {
        for line in try must(["dmsetup", "targets"]).lines {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count == 2, fields[0] == name { return String(fields[1].dropFirst()) }
        }
        return nil
    }

    func testJSONAgreesWithTheKernel() throws {
        let ns = try KernelNamespace.byNSID(1)
        let r = try swcrypt("check", ns.path, "--json")
        XCTAssertEqual(r.status, 0, "blocking findings on the 4096+64 namespace:\n\(r.stdout)\n\(r.stderr)")
        let object = try json(r)
        let facts = try XCTUnwrap(object["facts"] as? [String: Any])

        let uname = try must(["uname", "-r"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(facts["kernel_release"] as? String, uname)

        // check loaded dm_crypt and dm_integrity, so dmsetup lists them now.
        let dm = try XCTUnwrap(facts["device_mapper"] as? [String: Any])
        XCTAssertEqual(dm["status"] as? String, "queried")
        let targets = try XCTUnwrap(dm["targets"] as? [String: String])
        let crypt = try XCTUnwrap(try dmsetupTarget("crypt"), "dmsetup targets lists no crypt")
        XCTAssertEqual(targets["crypt"], crypt)
        XCTAssertEqual(targets["integrity"], try dmsetupTarget("integrity"))
        let driver = try must(["dmsetup", "version"]).lines.first { $0.hasPrefix("Driver version:") }
        XCTAssertEqual(driver?.split(separator: " ").last.map(String.init), dm["driver_version"] as? String)
        XCTAssertTrue((dm["capabilities"] as? [String])?.contains("inline tags") == true, "6.12 has dm-crypt inline tags")

        let device = try XCTUnwrap(facts["device"] as? [String: Any])
        XCTAssertEqual(device["path"] as? String, ns.path)
        XCTAssertEqual(device["kind"] as? String, "nvme-namespace")
        XCTAssertEqual(device["metadata_bytes"] as? Int, ns.metadataBytes)
        XCTAssertEqual(device["metadata_bytes"] as? Int, 64)
        XCTAssertEqual(device["logical_block_size"] as? Int, ns.logicalBlockSize)
        XCTAssertEqual(device["integrity_format"] as? String, ns.integrityFormat)
        XCTAssertEqual((device["size_bytes"] as? NSNumber)?.uint64Value, ns.sizeBytes)
        let formats = try XCTUnwrap(device["lba_formats"] as? [[String: Any]])
        XCTAssertTrue(formats.contains { $0["geometry"] as? String == "4096+64" }, "\(formats)")

        let aeads = try XCTUnwrap(facts["aeads"] as? [[String: Any]])
        let aegis = try XCTUnwrap(aeads.first { $0["algorithm"] as? String == "aegis128" })
        XCTAssertEqual(aegis["status"] as? String, "usable", "\(aegis)")
        XCTAssertGreaterThan((aegis["mib_per_s"] as? Double) ?? 0, 0, "\(aegis)")

        let findings = try XCTUnwrap(object["findings"] as? [[String: Any]])
        let summary = try XCTUnwrap(object["summary"] as? [String: Int])
        XCTAssertEqual(summary["blocking"], 0)
        XCTAssertEqual(findings.count, (summary["ok"] ?? 0) + (summary["warning"] ?? 0) + (summary["blocking"] ?? 0))
        for f in findings {
            XCTAssertEqual(Set(f.keys), ["area", "item", "status", "detail", "advice"])
        }
        XCTAssertEqual(findings.first { $0["item"] as? String == "format plan" }?["status"] as? String, "ok")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/sys/module/dm_crypt"))
    }

    func testHumanLines() throws {
        let ns = try KernelNamespace.byNSID(1)
        let r = try swcrypt("check", ns.path)
        XCTAssertEqual(r.status, 0, r.stdout)
        let crypt = try XCTUnwrap(try dmsetupTarget("crypt"))
        XCTAssertTrue(r.lines.contains { $0.hasPrefix("  ok        crypt target \(crypt): inline tags") }, r.stdout)
        XCTAssertTrue(r.lines.contains("device \(ns.path)"), r.stdout)
        XCTAssertTrue(r.lines.contains { $0.hasPrefix("  ok        4096+64: 64 metadata bytes per sector free for tags") }, r.stdout)
        // The test bed's controller, as sysfs names it: QEMU's NVMe and its EILSEQ under overlapping writes.
        let model = try must(["bash", "-c", "cat /sys/class/nvme/nvme*/model | head -n1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(model, "QEMU NVMe Ctrl")
        XCTAssertTrue(r.lines.contains { $0.hasPrefix("  warning   QEMU NVMe Ctrl ") && $0.contains("fails authentication (EILSEQ)") }, r.stdout)
        XCTAssertTrue(r.lines.last { !$0.isEmpty }?.hasPrefix("summary: ") == true, r.stdout)
    }

    /// The 4096+0 namespace: works through dm-integrity, and check names the format to go to.
    func testNamespaceWithoutMetadata() throws {
        let ns = try KernelNamespace.byNSID(2)
        let r = try swcrypt("check", ns.path, "--json")
        XCTAssertEqual(r.status, 0, r.stdout)
        let findings = try XCTUnwrap(try json(r)["findings"] as? [[String: Any]])
        let metadata = try XCTUnwrap(findings.first { $0["item"] as? String == "metadata" })
        XCTAssertEqual(metadata["status"] as? String, "warning")
        XCTAssertTrue((metadata["advice"] as? String)?.contains("--nvme-lbaf auto") == true, "\(metadata)")
    }

    func testNotABlockDevice() throws {
        let r = try swcrypt("check", "/dev/null")
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertTrue(r.stdout.isEmpty, r.stdout)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("/dev/null"), r.stderr)
        XCTAssertTrue(r.stderr.contains("character device"), r.stderr)
    }
}
