import Foundation
import XCTest

/// The bad-input matrix: every case must print one line naming the device (or
/// file) and the cause, exit with its documented code, and leave no new
/// mapping, no keyring key, and the device's bytes unchanged (checksummed
/// before and after).
final class BadInputIntegrationTests: XCTestCase {
    struct Case {
        var name: String
        var args: [String]
        var code: Int32
        /// Each must appear in the message (device or file first).
        var mentions: [String]
        /// Devices whose bytes must not change.
        var watch: [String]
        var asUser: Bool = false
    }

    var dir = ""
    var nullBlks = [String]()

    override func setUpWithError() throws {
        try VM.require()
        try VM.loadModules("dm-crypt", "dm-integrity", "aegis128", "gcm", "authenc")
        dir = try VM.tempDir()
    }

    override func tearDownWithError() throws {
        _ = try? sh("umount \(dir)/mnt 2>/dev/null; dmsetup remove bi-holder 2>/dev/null; dmsetup remove bi-exists 2>/dev/null")
        for name in (try? dmNames()) ?? [] where name.hasPrefix("bi-") { _ = try? execute([VM.swcrypt, "close", name]) }
        for d in nullBlks { _ = try? swcrypt("testdev", "remove", d) }
        _ = try? sh("rm -rf \(dir)")
    }

    private func nullBlk() throws -> String {
        let r = try swcrypt("testdev", "create", "null-blk", "--size", "64")
        XCTAssertEqual(r.status, 0, r.stderr)
        let d = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        nullBlks.append(d)
        return d
    }

    private func digest(_ device: String) throws -> String {
        // Header area (16 MiB) and a sample of the data area.
        let r = try must(["bash", "-c", "blockdev --flushbufs \(device) 2>/dev/null; (dd if=\(device) bs=1M count=16 status=none; dd if=\(device) bs=1M skip=32 count=4 status=none) | sha256sum"])
        return String(r.stdout.prefix(64))
    }

    private func swcryptKeys() throws -> [String] {
        try must(["cat", "/proc/keys"]).lines.filter { $0.contains("swcrypt:") || $0.contains("cryptsetup:") }
    }

    func testMatrix() throws {
        let meta = try KernelNamespace.byNSID(1).path, plain = try KernelNamespace.byNSID(2).path
        let fast = ["--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32"]
        let pass = "\(dir)/pass", wrong = "\(dir)/wrong", empty = "\(dir)/empty"
        try must(["bash", "-c", "printf 'a good passphrase' > \(pass); printf 'nope' > \(wrong); : > \(empty); mkdir \(dir)/keydir; head -c 10 /dev/urandom > \(dir)/shortkey; head -c 1048576 /dev/zero > \(dir)/regular; mkdir \(dir)/mnt"])
        // A LUKS2 inline volume on the metadata namespace, for the open cases.
        let fmt = try execute([VM.swcrypt, "format", meta, "--key-file", pass, "--yes", "--no-wipe"] + fast)
        XCTAssertEqual(fmt.status, 0, fmt.stderr)

        // Devices in states that must be refused.
        let mounted = try nullBlk(), held = try nullBlk(), other = try nullBlk(), truncated = try nullBlk(),
            flipped = try nullBlk(), noMeta = try nullBlk()
        try must(["mkfs.ext4", "-q", "-F", mounted])
        try must(["mount", mounted, "\(dir)/mnt"])
        let heldSectors = try must(["blockdev", "--getsz", held]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try must(["dmsetup", "create", "bi-holder", "--table", "0 \(heldSectors) linear \(held) 0"])
        try must(["dmsetup", "create", "bi-exists", "--table", "0 8 linear \(other) 0"])
        // Header copies: the first 16 MiB of the inline volume onto null_blk disks.
        for d in [truncated, flipped, noMeta] {
            try must(["dd", "if=\(meta)", "of=\(d)", "bs=1M", "count=16", "iflag=direct", "oflag=direct", "status=none"])
        }
        // Truncated: only the first 4 KiB of the binary header survives.
        try must(["dd", "if=/dev/zero", "of=\(truncated)", "bs=4096", "seek=1", "count=4095", "oflag=direct", "status=none"])
        // One byte flipped in the JSON area (offset 4096 + 100) of both header copies
        // (the secondary sits at the primary's header size, 16 KiB by default).
        let hdrSize = try must(["bash", "-c", "od -An -t u8 --endian=big -j 8 -N 8 \(flipped)"]).stdout.trimmingCharacters(in: .whitespaces.union(.newlines))
        for base in [0, Int(hdrSize) ?? 16384] {
            try must(["bash", "-c", """
                set -e; off=\(base + 4096 + 100)
                b=$(od -An -tu1 -j $off -N1 \(flipped)); printf "\\\\x$(printf %02x $((b ^ 1)))" | dd of=\(flipped) bs=1 seek=$off conv=notrunc status=none
                """])
        }
        let longName = String(repeating: "n", count: 128)
        try "0 8 crypt capi:gcm(aes)-random :32:logon:swcrypt:bi-a 0 \(plain) 0 -5 allow_discards\n".write(toFile: "\(dir)/negcount", atomically: true, encoding: .utf8)
        try "0 18446744073709551615 linear \(plain) 0\n".write(toFile: "\(dir)/huge", atomically: true, encoding: .utf8)

        let cases: [Case] = [
            Case(name: "wrong passphrase", args: ["open", meta, "bi-a", "--key-file", wrong], code: 2, mentions: [meta, "passphrase"], watch: [meta]),
            Case(name: "empty passphrase (open)", args: ["open", meta, "bi-a", "--key-file", empty], code: 1, mentions: ["empty"], watch: [meta]),
            Case(name: "empty passphrase (format)", args: ["format", plain, "--key-file", empty, "--yes"] + fast, code: 1, mentions: ["empty"], watch: [plain]),
            Case(name: "missing key file", args: ["open", meta, "bi-a", "--key-file", "\(dir)/absent"], code: 1, mentions: ["\(dir)/absent"], watch: [meta]),
            Case(name: "key file on a terminal", args: ["open", meta, "bi-a", "--key-file", "/dev/ptmx"], code: 1, mentions: ["/dev/ptmx", "terminal"], watch: [meta]),
            Case(name: "unreadable key file", args: ["open", meta, "bi-a", "--key-file", "\(dir)/keydir"], code: 1, mentions: ["\(dir)/keydir"], watch: [meta]),
            Case(name: "key of the wrong size", args: ["map", "crypt", "bi-a", plain, "--cipher", "aes-xts-plain64", "--key-file", "\(dir)/shortkey"], code: 1, mentions: ["\(dir)/shortkey", "10"], watch: [plain]),
            Case(name: "unknown cipher", args: ["format", plain, "--key-file", pass, "--yes", "--cipher", "rot13-ecb-none"] + fast, code: 1, mentions: [plain, "rot13"], watch: [plain]),
            Case(name: "cipher the kernel lacks", args: ["format", meta, "--key-file", pass, "--yes", "--cipher", "aegis256-random", "--integrity", "aead"] + fast, code: 1, mentions: [meta, "aegis256"], watch: [meta]),
            // (format would choose the dm-integrity layout instead, with a warning: not an error.)
            Case(name: "tag larger than the metadata", args: ["map", "crypt", "bi-a", meta, "--cipher", "aes-xts-random", "--integrity", "hmac-sha512", "--random-key"], code: 4, mentions: [meta, "80", "64"], watch: [meta]),
            Case(name: "sector size below the logical block size", args: ["format", meta, "--key-file", pass, "--yes", "--sector-size", "512"] + fast, code: 1, mentions: [meta, "512"], watch: [meta]),
            // Numbers that used to trap after destructive steps or in the parser (issue 13.5).
            Case(name: "init block of 2^53 KiB", args: ["format", plain, "--key-file", pass, "--yes", "--init-block-kib", "9007199254740992"] + fast, code: 1, mentions: [plain, "--init-block-kib"], watch: [plain]),
            Case(name: "init queue depth 0", args: ["format", plain, "--key-file", pass, "--yes", "--init-queue-depth", "0"] + fast, code: 1, mentions: [plain, "--init-queue-depth"], watch: [plain]),
            Case(name: "table with a negative option count", args: ["map", "table", "bi-a", "--table-file", "\(dir)/negcount"], code: 1, mentions: ["optional argument count"], watch: [plain]),
            Case(name: "table with a huge length", args: ["map", "table", "bi-a", "--table-file", "\(dir)/huge"], code: 1, mentions: ["beyond any block device"], watch: [plain]),
            Case(name: "offset beyond the device", args: ["map", "crypt", "bi-a", plain, "--random-key", "--emulate-metadata", "journal", "--offset", "18446744073709551000"], code: 1, mentions: [plain, "beyond"], watch: [plain]),
            Case(name: "size not a multiple of the sector size", args: ["map", "crypt", "bi-a", meta, "--random-key", "--size", "1001"], code: 1, mentions: [meta, "512512 bytes", "4096"], watch: [meta]),
            Case(name: "nonexistent path", args: ["open", "/dev/bi-nonexistent", "bi-a", "--key-file", pass], code: 4, mentions: ["/dev/bi-nonexistent"], watch: []),
            Case(name: "regular file", args: ["format", "\(dir)/regular", "--key-file", pass, "--yes"] + fast, code: 4, mentions: ["\(dir)/regular", "regular file"], watch: ["\(dir)/regular"]),
            Case(name: "character device", args: ["format", "/dev/zero", "--key-file", pass, "--yes"] + fast, code: 4, mentions: ["/dev/zero", "character"], watch: []),
            Case(name: "mounted device", args: ["format", mounted, "--key-file", pass, "--yes"] + fast, code: 5, mentions: [mounted, "mounted"], watch: [mounted]),
            Case(name: "device held by another mapping", args: ["format", held, "--key-file", pass, "--yes"] + fast, code: 5, mentions: [held, "bi-holder"], watch: [held]),
            Case(name: "mapping name in use", args: ["open", meta, "bi-exists", "--key-file", pass], code: 5, mentions: ["bi-exists"], watch: [meta]),
            Case(name: "mapping name with /", args: ["open", meta, "bi/a", "--key-file", pass], code: 1, mentions: ["bi/a", "/"], watch: [meta]),
            Case(name: "mapping name too long", args: ["open", meta, longName, "--key-file", pass], code: 1, mentions: ["127"], watch: [meta]),
            Case(name: "truncated LUKS2 header", args: ["open", truncated, "bi-a", "--key-file", pass], code: 4, mentions: [truncated], watch: [truncated]),
            Case(name: "LUKS2 JSON byte flipped in both copies", args: ["open", flipped, "bi-a", "--key-file", pass], code: 4, mentions: [flipped], watch: [flipped]),
            Case(name: "inline volume on a device without metadata", args: ["open", noMeta, "bi-a", "--key-file", pass], code: 4, mentions: [noMeta, "inline HW tags"], watch: [noMeta]),
            Case(name: "not root (open)", args: ["open", meta, "bi-a", "--key-file", pass], code: 2, mentions: ["root"], watch: [meta], asUser: true),
            Case(name: "not root (format)", args: ["format", plain, "--key-file", pass, "--yes"] + fast, code: 2, mentions: ["root"], watch: [plain], asUser: true),
        ]

        var ok = 0
        for c in cases {
            let mappings = try dmNames(), keys = try swcryptKeys()
            let sums = try c.watch.map { try digest($0) }
            let r = c.asUser
                ? try execute(VM.asNobody(c.args))
                : try execute([VM.swcrypt] + c.args)
            let lines = r.stderr.split(separator: "\n")
            var good = true
            func check(_ condition: Bool, _ what: String) {
                if !condition { good = false; XCTFail("\(c.name): \(what) [exit \(r.status)] \(r.stderr)") }
            }
            check(r.status == c.code, "exit \(r.status), want \(c.code)")
            check(lines.count == 1, "\(lines.count) lines on stderr, want 1")
            for m in c.mentions { check(r.stderr.contains(m), "message does not mention '\(m)'") }
            check(try dmNames() == mappings, "mappings changed: \(try dmNames().symmetricDifference(mappings))")
            check(try swcryptKeys() == keys, "keyring changed")
            check(try c.watch.map { try digest($0) } == sums, "device bytes changed")
            if good { ok += 1 }
        }
        print("reliability: bad-input matrix: \(cases.count) cases tried, \(ok) answered with one line, the documented exit code, and nothing changed")
    }
}
