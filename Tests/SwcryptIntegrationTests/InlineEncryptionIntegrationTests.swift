import Foundation
import SwcryptSystem
import XCTest

/// fscrypt with `-o inlinecrypt` through swcrypt's passthrough mappings, on the
/// self-built kernel with blk-crypto (Scripts/vm --kernel inline). There the
/// encryption contexts travel through the mapping to blk-crypto-fallback; the
/// test proves it by reading the raw devices (no plaintext) and by reading the
/// file back with software fscrypt (the same ciphertext).
final class InlineEncryptionIntegrationTests: XCTestCase {
    override func setUpWithError() throws {
        try VM.require()
        guard FileManager.default.fileExists(atPath: "/sys/module/blk_crypto") else {
            throw XCTSkip("skipped, because this kernel has no blk-crypto (no /sys/module/blk_crypto: CONFIG_BLK_INLINE_ENCRYPTION is off, as in every Debian kernel); Scripts/test runs this class on the inline kernel (Scripts/vm --kernel inline)")
        }
    }

    func testPassthroughOverOneNullBlk() throws {
        let disks = try makeDisks(1)
        defer { disks.forEach { _ = try? swcrypt("testdev", "remove", $0) } }
        let r = try swcrypt("map", "passthrough", "it-ice1", disks[0])
        XCTAssertEqual(r.status, 0, r.stderr)
        defer { _ = try? swcrypt("unmap", "it-ice1") }
        try fscryptRoundTrip(mapping: "it-ice1", raw: disks)
    }

    func testPassthroughOverTwoNullBlk() throws {
        let disks = try makeDisks(2)
        defer { disks.forEach { _ = try? swcrypt("testdev", "remove", $0) } }
        let r = try swcrypt("map", "passthrough", "it-ice2", disks[0], disks[1])
        XCTAssertEqual(r.status, 0, r.stderr)
        defer { _ = try? swcrypt("unmap", "it-ice2") }
        // Both halves carry ciphertext: the file system spreads its blocks over 64+64 MiB.
        try fscryptRoundTrip(mapping: "it-ice2", raw: disks, fileMiB: 80)
    }

    /// dm-flakey in its up state passes the crypto capability through like linear.
    func testFlakeyUp() throws {
        let disks = try makeDisks(1)
        defer { disks.forEach { _ = try? swcrypt("testdev", "remove", $0) } }
        let sectors = try must(["blockdev", "--getsz", disks[0]]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let dir = try VM.tempDir()
        defer { _ = try? sh("rm -rf \(dir)") }
        try "0 \(sectors) flakey \(disks[0]) 0 3600 0\n".write(toFile: "\(dir)/table", atomically: true, encoding: .utf8)
        let r = try swcrypt("map", "table", "it-iceflakey", "--table-file", "\(dir)/table")
        XCTAssertEqual(r.status, 0, r.stderr)
        defer { _ = try? swcrypt("unmap", "it-iceflakey") }
        XCTAssertTrue(try must(["dmsetup", "table", "it-iceflakey"]).stdout.contains(" flakey "))
        try fscryptRoundTrip(mapping: "it-iceflakey", raw: disks)
    }

    /// `swcrypt inline-crypto` on this kernel: no hardware anywhere, the fallback
    /// built in, and it says how it knows (no config file for a self-built kernel).
    func testInlineCryptoReportsFallback() throws {
        let disks = try makeDisks(1)
        defer { disks.forEach { _ = try? swcrypt("testdev", "remove", $0) } }
        XCTAssertEqual(try swcrypt("map", "passthrough", "it-icerep", disks[0]).status, 0)
        defer { _ = try? swcrypt("unmap", "it-icerep") }
        let r = try swcrypt("inline-crypto", disks[0], "/dev/mapper/it-icerep", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["inline_encryption_hardware"] as? Bool, false)
        let fallback = try XCTUnwrap(json["fallback"] as? [String: Any])
        XCTAssertEqual(fallback["enabled"] as? Bool, true, "\(fallback)")
        let source = try XCTUnwrap(fallback["source"] as? String)
        // The witness must be true of this kernel: check it independently.
        if source.contains("kallsyms") {
            XCTAssertTrue(try sh("grep -q ' blk_crypto_fallback_bio_prep$' /proc/kallsyms").status == 0)
        } else {
            let release = try must(["uname", "-r"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertTrue(source.contains(release), source)
        }
        for d in try XCTUnwrap(json["devices"] as? [[String: Any]]) {
            XCTAssertTrue(d["inline_crypto"] is NSNull, "\(d)")
            let dev = try XCTUnwrap(d["device"] as? String)
            let name = try must(["bash", "-c", "basename $(readlink -f \(dev))"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/sys/block/\(name)/queue/crypto"), name)
        }
        let human = try swcrypt("inline-crypto", "/dev/mapper/it-icerep")
        XCTAssertTrue(human.stdout.contains("blk-crypto-fallback: built in ("), human.stdout)
    }

    // MARK: -

    private func makeDisks(_ n: Int) throws -> [String] {
        var disks = [String]()
        for _ in 0..<n {
            let r = try swcrypt("testdev", "create", "null-blk", "--size", "64")
            XCTAssertEqual(r.status, 0, r.stderr)
            disks.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return disks
    }

    /// ext4 with the encrypt feature on the mapping, an fscrypt v2 policy
    /// (AES-256-XTS contents), a file written with -o inlinecrypt; then: the
    /// kernel used blk-crypto-fallback, no raw device holds the plaintext, and
    /// software fscrypt (mounted without inlinecrypt) reads the file back.
    private func fscryptRoundTrip(mapping: String, raw: [String], fileMiB: Int = 4) throws {
        let dev = "/dev/mapper/\(mapping)"
        let dir = try VM.tempDir()
        let mnt = "\(dir)/mnt"
        defer { _ = try? sh("umount \(mnt) 2>/dev/null; rm -rf \(dir)") }
        try must(["mkfs.ext4", "-q", "-F", "-b", "4096", "-O", "encrypt", dev])
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let logMark = try dmesgLines().count
        try must(["mount", "-o", "inlinecrypt", dev, mnt])

        var rng = SystemRandomNumberGenerator()
        let key = (0..<64).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let id = try Fscrypt.addKey(filesystem: mnt, raw: key)
        XCTAssertEqual(id.count, 16)
        try FileManager.default.createDirectory(atPath: "\(mnt)/secret", withIntermediateDirectories: false)
        try Fscrypt.setPolicy(directory: "\(mnt)/secret", identifier: id)
        let policy = try XCTUnwrap(try Fscrypt.policy(of: "\(mnt)/secret"))
        XCTAssertEqual(policy.contents, Fscrypt.Mode.aes256XTS.rawValue)
        XCTAssertEqual(policy.identifier, id)

        // Plaintext: one marker line repeated; a control file outside the policy
        // shows the raw scan does find plaintext that is there.
        let marker = "SWCRYPT-PLAINTEXT-\(UUID().uuidString)"
        let control = "SWCRYPT-CONTROL-\(UUID().uuidString)"
        let line = Data((marker + "\n").utf8)
        var content = Data()
        while content.count < fileMiB << 20 { content.append(line) }
        try content.write(to: URL(fileURLWithPath: "\(mnt)/secret/file"))
        try Data((control + "\n").utf8).write(to: URL(fileURLWithPath: "\(mnt)/control"))
        try must(["sync"])
        // fscrypt says so once per boot, when the mode is first set up.
        let log = try dmesgLines()
        XCTAssertTrue(log.contains { $0.contains("AES-256-XTS using blk-crypto-fallback") },
                      "no 'AES-256-XTS using blk-crypto-fallback' in the kernel log: \(log.dropFirst(logMark).suffix(10))")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(mnt)/secret"), ["file"])
        try must(["umount", mnt])

        var plaintextHits = 0, controlHits = 0
        for disk in raw + [dev] {
            plaintextHits += try count(marker, in: disk)
            controlHits += try count(control, in: disk)
        }
        XCTAssertEqual(plaintextHits, 0, "plaintext of the encrypted file found on the raw devices")
        XCTAssertGreaterThan(controlHits, 0, "the unencrypted control file was not found: the scan proves nothing")

        // Software fscrypt decrypts what went through the passthrough path.
        try must(["mount", dev, mnt])
        XCTAssertFalse(try must(["findmnt", "-n", "-o", "OPTIONS", mnt]).stdout.contains("inlinecrypt"))
        _ = try Fscrypt.addKey(filesystem: mnt, raw: key)
        let back = try Data(contentsOf: URL(fileURLWithPath: "\(mnt)/secret/file"))
        XCTAssertEqual(back.count, content.count)
        XCTAssertTrue(back == content, "software fscrypt read different bytes than were written through inlinecrypt")
        try Fscrypt.removeKey(filesystem: mnt, identifier: id)
        try must(["umount", mnt])
        print("inline-encryption \(mapping): \(content.count) bytes through blk-crypto-fallback over \(raw.count) device(s); plaintext hits on raw devices: \(plaintextHits); control hits: \(controlHits); software read-back identical")
    }

    /// Occurrences of `text` in a device, read whole (grep -c counts lines).
    private func count(_ text: String, in device: String) throws -> Int {
        let r = try sh("grep -a -c -F '\(text)' \(device) || true")
        return Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}
