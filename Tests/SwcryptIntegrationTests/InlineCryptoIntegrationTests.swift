import Foundation
import XCTest

/// `swcrypt inline-crypto` on the VM's kernel, which (like every Debian kernel) is
/// built without CONFIG_BLK_INLINE_ENCRYPTION: no device has a queue/crypto directory.
final class InlineCryptoIntegrationTests: XCTestCase {
    override func setUpWithError() throws { try VM.require() }

    func testNoCapabilityOnNVMeAndNullBlk() throws {
        let ns = try KernelNamespace.byNSID(1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(ns.sys)/queue/crypto"))
        let created = try swcrypt("testdev", "create", "null-blk")
        XCTAssertEqual(created.status, 0, created.stderr)
        let nullb = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? swcrypt("testdev", "remove", nullb) }

        let human = try swcrypt("inline-crypto", ns.path)
        XCTAssertEqual(human.status, 0, human.stderr)
        XCTAssertTrue(human.lines[0].hasPrefix("\(ns.path): no inline-encryption hardware"), human.stdout)
        // The kernel's own config says there is no blk-crypto at all.
        let release = try must(["uname", "-r"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if let config = try? String(contentsOfFile: "/boot/config-\(release)", encoding: .utf8),
           config.contains("# CONFIG_BLK_INLINE_ENCRYPTION is not set") {
            XCTAssertTrue(human.stdout.contains("CONFIG_BLK_INLINE_ENCRYPTION is not set in /boot/config-\(release)"), human.stdout)
        }

        let r = try swcrypt("inline-crypto", ns.path, nullb, "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["inline_encryption_hardware"] as? Bool, false)
        XCTAssertEqual(json["summary"] as? String, "no inline-encryption hardware (no queue/crypto)")
        let devices = try XCTUnwrap(json["devices"] as? [[String: Any]])
        XCTAssertEqual(devices.map { $0["device"] as? String }, [ns.path, nullb])
        for d in devices {
            XCTAssertTrue(d["inline_crypto"] is NSNull, "\(d)")
            XCTAssertEqual(d["message"] as? String, "no inline-encryption hardware (no queue/crypto)")
        }
        XCTAssertTrue(json["passthrough"] is NSNull, "no mode in common: passthrough is null (every key present)")
        let policies = try XCTUnwrap(json["fscrypt"] as? [[String: Any]])
        XCTAssertFalse(policies.isEmpty)
        XCTAssertTrue(policies.allSatisfy { $0["hardware"] as? Bool == false })
        let fallback = try XCTUnwrap(json["fallback"] as? [String: Any])
        XCTAssertNotNil(fallback["source"] as? String)
    }

    func testNotABlockDevice() throws {
        let r = try swcrypt("inline-crypto", "/dev/null")
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("/dev/null"), r.stderr)
    }
}
