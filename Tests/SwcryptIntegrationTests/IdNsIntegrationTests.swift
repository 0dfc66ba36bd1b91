import Foundation
import XCTest
import SwcryptCore
import SwcryptNVMe
@testable import SwcryptKit

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

    /// An NVMe command the device refuses carries the kernel's line in swcrypt's
    /// error when the kernel logs one. Linux logs failed passthrough commands
    /// only with passthru_err_log_enabled set (off by default; set here and put
    /// back). The command: Identify Namespace of an nsid that does not exist,
    /// through the call path every swcrypt NVMe command takes.
    func testKernelLineInNVMeErrors() throws {
        let ns = try KernelNamespace.byNSID(1)
        let knobs = try must(["bash", "-c", "ls /sys/class/nvme/*/passthru_err_log_enabled /sys/block/nvme*/passthru_err_log_enabled 2>/dev/null || true"]).lines.filter { !$0.isEmpty }
        guard !knobs.isEmpty else {
            throw XCTSkip("skipped, because this kernel has no passthru_err_log_enabled: it does not log failed NVMe passthrough commands")
        }
        let saved = knobs.map { ($0, sysfs($0) ?? "off") }
        for k in knobs { try must(["bash", "-c", "echo on > \(k)"]) }
        defer { for (k, v) in saved { _ = try? sh("echo \(v) > \(k)") } }
        do {
            _ = try nvme(ns.path) { () throws(NVMeCommandError) in
                try NVMeDevice(path: ns.path).identifyNamespace(nsid: 0x7777)
            }
            XCTFail("Identify Namespace 0x7777 on \(ns.path) succeeded")
        } catch {
            let text = error.description
            XCTAssertTrue(text.hasPrefix(ns.path + ":"), text)
            XCTAssertTrue(text.contains("NVMe status 0x"), text)
            XCTAssertTrue(text.contains("kernel: nvme"), "no kernel line in: \(text)")
            print("reliability: NVMe error with the kernel's line: \(text)")
        }
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
        let controller = "/dev/" + (try ns.controller())
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
