import Foundation
import XCTest

/// `swcrypt id-ns` against the emulated NVMe controller, with nvme-cli and sysfs as witnesses.
final class IdNsIntegrationTests: XCTestCase {
    override func setUpWithError() throws { try VM.require() }

    /// The heading, field and lbaf lines are byte-for-byte nvme-cli's.
    func testLinesIdenticalToNvmeCLI() throws {
        for nsid in [1, 2] {
            let ns = try KernelNamespace.byNSID(nsid)
            let ours = try swcrypt("id-ns", ns.path)
            XCTAssertEqual(ours.status, 0, ours.stderr)
            let theirs = try must(["nvme", "id-ns", ns.path])
            let ourLBAF = ours.lines.filter { $0.hasPrefix("lbaf ") }
            let theirLBAF = theirs.lines.filter { $0.hasPrefix("lbaf ") }
            XCTAssertEqual(ourLBAF.count, 8, "QEMU offers 8 LBA formats")
            XCTAssertEqual(ourLBAF, theirLBAF, "lbaf lines differ from nvme id-ns for \(ns.path)")
            // Every nvme-cli-style line we print before the blank line is one of nvme-cli's lines.
            let nvmeSection = ours.lines.prefix { !$0.isEmpty }
            XCTAssertGreaterThan(nvmeSection.count, 8)
            for line in nvmeSection {
                XCTAssertTrue(theirs.lines.contains(line), "'\(line)' is not in nvme id-ns output")
            }
        }
    }

    /// JSON values match the kernel's sysfs and nvme-cli's in-use format.
    func testJSONMatchesSysfs() throws {
        for (nsid, expectedMS) in [(1, 64), (2, 0)] {
            let ns = try KernelNamespace.byNSID(nsid)
            let r = try swcrypt("id-ns", ns.path, "--json")
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(json["nsid"] as? Int, nsid)
            XCTAssertEqual(json["device"] as? String, ns.path)
            XCTAssertEqual(json["in_use"] as? Int, try ns.nvmeCLIInUse())
            let kernel = try XCTUnwrap(json["kernel"] as? [String: Any])
            XCTAssertEqual(kernel["logical_block_size"] as? Int, ns.logicalBlockSize)
            XCTAssertEqual(kernel["metadata_bytes"] as? Int, ns.metadataBytes)
            XCTAssertEqual(kernel["metadata_bytes"] as? Int, expectedMS)
            XCTAssertEqual(kernel["integrity_format"] as? String, ns.integrityFormat)
            XCTAssertEqual(kernel["tag_size"] as? Int, Int(sysfs("\(ns.sys)/integrity/tag_size") ?? "0"))
            XCTAssertEqual((kernel["capacity_bytes"] as? NSNumber)?.uint64Value, ns.sizeBytes)
            let lbafs = try XCTUnwrap(json["lbafs"] as? [[String: Any]])
            let inUse = lbafs.filter { $0["in_use"] as? Bool == true }
            XCTAssertEqual(inUse.count, 1)
            XCTAssertEqual(inUse.first?["data_size"] as? Int, ns.logicalBlockSize)
            XCTAssertEqual(inUse.first?["ms"] as? Int, ns.metadataBytes)
        }
    }

    func testVerdictOnMetadataNamespace() throws {
        let ns = try KernelNamespace.byNSID(1)
        let r = try swcrypt("id-ns", ns.path)
        XCTAssertTrue(r.lines.contains("4096+64: fits aegis128-random/aead (32 B), aes-gcm-random/aead (28 B), chacha20-random/poly1305 (28 B), aes-xts-random/hmac-sha256 (48 B)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("verdict: ready"), r.stdout)
        let plain = try swcrypt("id-ns", try KernelNamespace.byNSID(2).path)
        XCTAssertTrue(plain.stdout.contains("--lbaf 7"), plain.stdout)
    }

    /// Paths that are not namespaces: one line naming the device and what it is, exit 4.
    func testNotANamespace() throws {
        let ns = try KernelNamespace.byNSID(2)
        let dir = try VM.tempDir()
        let file = dir + "/plain-file"
        try must(["truncate", "-s", "16M", file])
        try VM.loadModules("loop")
        let loop = try must(["losetup", "--find", "--show", file]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? execute(["losetup", "-d", loop]) }
        // The namespace's controller: its device, or with native multipath (the
        // head hangs off nvme-subsysN) the first controller of that subsystem.
        var parent = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(
            atPath: ns.sys + "/device")).lastPathComponent
        if parent.hasPrefix("nvme-subsys") {
            parent = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: "/sys/class/nvme-subsystem/\(parent)")
                .filter { $0.range(of: "^nvme[0-9]+$", options: .regularExpression) != nil }.sorted().first)
        }
        let controller = "/dev/" + parent
        var cases: [(String, String)] = [
            ("/dev/does-not-exist", "no such device"),
            (file, "regular file"),
            (dir, "directory"),
            (loop, "loop device"),
            ("/dev/null", "character device"),
            (controller, "NVMe controller"),
        ]
        let generic = "/dev/ng" + ns.name.dropFirst(4)
        if FileManager.default.fileExists(atPath: generic) { cases.append((generic, "generic character device")) }
        for (path, what) in cases {
            let r = try swcrypt("id-ns", path)
            XCTAssertEqual(r.status, 4, "\(path): \(r.stderr)")
            XCTAssertTrue(r.stdout.isEmpty, "\(path) printed to stdout: \(r.stdout)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(path): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(path), "message does not name \(path): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(what), "\(path): expected '\(what)': \(r.stderr)")
        }
    }
}
