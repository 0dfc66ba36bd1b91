import Foundation
import XCTest

/// `swcrypt map` / `unmap` / `ls` on real kernel devices, checked through
/// dmsetup, sysfs, /proc/keys and data read back.
final class MapIntegrationTests: XCTestCase {
    override func setUpWithError() throws {
        try VM.require()
        try VM.loadModules("dm-crypt", "dm-integrity", "aegis128", "gcm", "authenc", "chacha20poly1305")
        // Earlier test classes leave LUKS headers and filesystems on the namespaces.
        for nsid in [1, 2] { try VM.wipeSignatures(try KernelNamespace.byNSID(nsid).path) }
    }

    override func tearDownWithError() throws {
        // Never leave a test mapping behind for the next test.
        for name in (try? dmNames()) ?? [] where name.hasPrefix("it-") {
            _ = try? execute([VM.swcrypt, "unmap", name])
        }
    }

    func table(_ name: String, showKeys: Bool = false) throws -> String {
        try must(["dmsetup", "table"] + (showKeys ? ["--showkeys"] : []) + [name]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func majorMinor(_ path: String) throws -> String {
        try must(["bash", "-c", "printf '%d:%d' 0x$(stat -c %t \(path)) 0x$(stat -c %T \(path))"]).stdout
    }

    /// Mikulas Patocka's example table, with a keyring key, on the 4096+64 namespace:
    /// data round-trips; a flipped byte on the raw namespace makes exactly that block unreadable.
    func testPatockaExampleDetectsTampering() throws {
        let ns = try KernelNamespace.byNSID(1)
        XCTAssertEqual(ns.metadataBytes, 64)
        let sectors = ns.sizeBytes / 512
        let dir = try VM.tempDir()
        // 32-byte AES key + 32-byte HMAC key, into the user keyring (the table only references it).
        try must(["bash", "-c", "head -c 64 /dev/urandom > \(dir)/key && keyctl padd logon swcrypt:it-patocka @u < \(dir)/key >/dev/null"])
        defer { _ = try? sh("keyctl unlink $(keyctl search @u logon swcrypt:it-patocka) @u") }
        let text = "0 \(sectors) crypt capi:authenc(hmac(sha256),cbc(aes))-essiv:sha256 :64:logon:swcrypt:it-patocka 0 \(ns.path) 0 2 integrity:32:aead sector_size:4096"
        try text.write(toFile: "\(dir)/table", atomically: true, encoding: .utf8)
        let printed = try swcrypt("map", "table", "it-patocka", "--table-file", "\(dir)/table", "--print-table")
        XCTAssertEqual(printed.status, 0, printed.stderr)
        // Devices are bound by number when the table is planned (issue 13.9), and named in a comment.
        let mm = try majorMinor(ns.path)
        XCTAssertTrue(printed.stdout.contains(text.replacingOccurrences(of: ns.path, with: mm)), printed.stdout)
        XCTAssertTrue(printed.stdout.contains("# \(mm) = \(ns.path)"), printed.stdout)
        XCTAssertFalse(try dmNames().contains("it-patocka"), "--print-table must not activate")

        let r = try swcrypt("map", "table", "it-patocka", "--table-file", "\(dir)/table")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try table("it-patocka", showKeys: true), text.replacingOccurrences(of: ns.path, with: mm))

        XCTAssertTrue(try roundTrip("/dev/mapper/it-patocka", mib: 8), "8 MiB did not read back identical")

        // Flip one byte of data block 5 on the raw namespace.
        try must(["bash", "-c", """
            set -e
            dd if=\(ns.path) of=\(dir)/blk bs=4096 skip=5 count=1 iflag=direct status=none
            printf '\\x%02x' $(( $(od -An -tu1 -j100 -N1 \(dir)/blk) ^ 1 )) | dd of=\(dir)/blk bs=1 seek=100 conv=notrunc status=none
            dd if=\(dir)/blk of=\(ns.path) bs=4096 seek=5 count=1 oflag=direct status=none
            """])
        // dm-crypt rate-limits its error lines (udev's probe of never-written sectors
        // triggers some at create), so give the limit time to reset before looking.
        var logged = false
        for _ in 0..<2 where !logged {
            usleep(6_000_000)
            let bad = try execute(["dd", "if=/dev/mapper/it-patocka", "of=/dev/null", "bs=4096", "skip=5", "count=1", "iflag=direct", "status=none"])
            XCTAssertNotEqual(bad.status, 0, "a tampered block was returned")
            XCTAssertTrue(bad.stderr.contains("Input/output error") || bad.stderr.contains("Invalid or incomplete multibyte"), bad.stderr)
            // Block 5 of 4096 bytes is 512-byte sector 40.
            logged = try dmesgLines().contains { $0.contains("INTEGRITY AEAD ERROR, sector 40") }
        }
        XCTAssertTrue(logged, "the kernel did not log the integrity failure of sector 40")
        for neighbour in [4, 6] {
            let ok = try execute(["dd", "if=/dev/mapper/it-patocka", "of=/dev/null", "bs=4096", "skip=\(neighbour)", "count=1", "iflag=direct", "status=none"])
            XCTAssertEqual(ok.status, 0, "block \(neighbour): \(ok.stderr)")
        }
        XCTAssertEqual(try swcrypt("unmap", "it-patocka").status, 0)
        XCTAssertFalse(try dmNames().contains("it-patocka"))
    }

    /// The AEAD constructions directly on the 4096+64 namespace, with generated keys.
    func testAEADCiphersOnMetadataNamespace() throws {
        let ns = try KernelNamespace.byNSID(1)
        let mm = try majorMinor(ns.path)
        for (cipher, integrity, capi, bytes) in [
            ("aegis128-random", "aead", "capi:aegis128-random", 32),
            ("aes-gcm-random", "aead", "capi:gcm(aes)-random", 28),
            ("aes-xts-random", "hmac-sha256", "capi:authenc(hmac(sha256),xts(aes))-random", 48),
        ] {
            let r = try swcrypt("map", "crypt", "it-aead", ns.path, "--cipher", cipher, "--integrity", integrity, "--random-key")
            XCTAssertEqual(r.status, 0, "\(cipher): \(r.stderr)")
            let t = try table("it-aead", showKeys: true)
            let fields = t.split(separator: " ").map(String.init)
            guard fields.count >= 8 else { XCTFail("no table for \(cipher): '\(t)'"); continue }
            XCTAssertEqual(fields[3], capi, t)
            XCTAssertTrue(fields[4].hasPrefix(":") && fields[4].hasSuffix(":logon:swcrypt:it-aead"), "key is not a keyring reference: \(fields[4])")
            XCTAssertEqual(fields[6], mm)
            XCTAssertTrue(t.hasSuffix("2 integrity:\(bytes):aead sector_size:4096"), t)
            XCTAssertTrue(try roundTrip("/dev/mapper/it-aead", mib: 2), cipher)
            // The key is not left in any keyring once the table is loaded.
            XCTAssertFalse(try must(["cat", "/proc/keys"]).stdout.contains("swcrypt:it-aead"))
            XCTAssertEqual(try swcrypt("unmap", "it-aead").status, 0)
        }
    }

    /// The same constructions over dm-integrity J and D, on null_blk and on the 4096+0 namespace;
    /// bitmap mode (B) standalone with an internal hash, because the kernel refuses
    /// external tags in bitmap mode, which swcrypt says before touching anything.
    func testEmulatedMetadataStacks() throws {
        let nb = try NullBlk.create("it-nullb0", sizeMB: 96)
        defer { nb.remove() }
        let plain = try KernelNamespace.byNSID(2)
        XCTAssertEqual(plain.metadataBytes, 0)
        for device in [nb.path, plain.path] {
            for (mode, letter) in [("journal", "J"), ("direct", "D")] {
                for (cipher, integrity, bytes) in [("aes-gcm-random", "aead", 28), ("aegis128-random", "aead", 32),
                                                    ("aes-xts-random", "hmac-sha256", 48)] {
                    let r = try swcrypt("map", "crypt", "it-emu", device, "--cipher", cipher, "--integrity", integrity,
                                        "--emulate-metadata", mode, "--random-key", "--json")
                    XCTAssertEqual(r.status, 0, "\(device) \(mode) \(cipher): \(r.stderr)")
                    let lower = try table("it-emu_dif").split(separator: " ").map(String.init)
                    guard lower.count >= 7 else { XCTFail("no dm-integrity layer: \(lower)"); continue }
                    XCTAssertEqual(lower[2], "integrity")
                    XCTAssertEqual(lower[5], "\(bytes)", "tag size")
                    XCTAssertEqual(lower[6], letter, "mode")
                    let upper = try table("it-emu")
                    XCTAssertTrue(upper.contains("integrity:\(bytes):aead"), upper)
                    XCTAssertTrue(try roundTrip("/dev/mapper/it-emu", mib: 2), "\(device) \(mode) \(cipher)")
                    let uuid = try must(["dmsetup", "info", "-c", "--noheadings", "-o", "uuid", "it-emu_dif"]).stdout
                    XCTAssertTrue(uuid.hasPrefix("SWCRYPT-INTEGRITY-"), uuid)
                    XCTAssertEqual(try swcrypt("unmap", "it-emu").status, 0)
                    XCTAssertTrue(try dmNames().isDisjoint(with: ["it-emu", "it-emu_dif"]), "unmap left a layer")
                }
            }
            let refused = try swcrypt("map", "crypt", "it-emu", device, "--cipher", "aes-gcm-random",
                                      "--emulate-metadata", "bitmap", "--random-key")
            XCTAssertEqual(refused.status, 1, refused.stderr)
            XCTAssertTrue(refused.stderr.contains("only with an internal hash"), refused.stderr)
            XCTAssertFalse(try dmNames().contains("it-emu_dif"))
            for (mode, letter) in [("B", "B"), ("J", "J"), ("D", "D")] {
                let r = try swcrypt("map", "integrity", "it-int", device, "--mode", mode, "--internal-hash", "crc32c")
                XCTAssertEqual(r.status, 0, "\(device) \(mode): \(r.stderr)")
                let t = try table("it-int").split(separator: " ").map(String.init)
                XCTAssertEqual(t.count > 6 ? t[6] : "", letter, "\(t)")
                XCTAssertTrue(t.contains("internal_hash:crc32c"), "\(t)")
                XCTAssertTrue(try roundTrip("/dev/mapper/it-int", mib: 2), "\(device) integrity \(mode)")
                XCTAssertEqual(try swcrypt("unmap", "it-int").status, 0)
            }
        }
    }

    /// dm-integrity Inline mode with crc32c on the 4096+64 namespace.
    func testIntegrityInlineMode() throws {
        let ns = try KernelNamespace.byNSID(1)
        let r = try swcrypt("map", "integrity", "it-inline", ns.path, "--mode", "I", "--internal-hash", "crc32c")
        XCTAssertEqual(r.status, 0, r.stderr)
        let t = try table("it-inline").split(separator: " ").map(String.init)
        guard t.count >= 7 else { return XCTFail("no table: \(t)") }
        XCTAssertEqual(Array(t[2...3]), ["integrity", try majorMinor(ns.path)])
        XCTAssertEqual(t[5], "4")
        XCTAssertEqual(t[6], "I")
        XCTAssertTrue(t.contains("internal_hash:crc32c"), "\(t)")
        XCTAssertTrue(try roundTrip("/dev/mapper/it-inline", mib: 4))
        XCTAssertEqual(try swcrypt("unmap", "it-inline").status, 0)
    }

    /// Linear passthrough over null_blk: data identical through the mapping, also over two devices.
    func testPassthroughLinear() throws {
        let a = try NullBlk.create("it-nullpa", sizeMB: 16), b = try NullBlk.create("it-nullpb", sizeMB: 16)
        defer { a.remove(); b.remove() }
        var r = try swcrypt("map", "passthrough", "it-pass", a.path)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(try roundTrip("/dev/mapper/it-pass", mib: 4))
        // What went through the mapping is on the device, byte for byte.
        let viaMap = try must(["bash", "-c", "head -c 4194304 /dev/mapper/it-pass | sha256sum"]).stdout
        let raw = try must(["bash", "-c", "head -c 4194304 \(a.path) | sha256sum"]).stdout
        XCTAssertEqual(viaMap.prefix(64), raw.prefix(64))
        // Grown in place: the table reloaded with the second device appended;
        // no inline-encryption profile here, so nothing can be lost.
        let uuid = try must(["dmsetup", "info", "-c", "--noheadings", "-o", "uuid", "it-pass"]).stdout
        let grown = try swcrypt("map", "passthrough", "it-pass", a.path, b.path, "--reload")
        XCTAssertEqual(grown.status, 0, grown.stderr)
        XCTAssertEqual(try table("it-pass").split(separator: "\n").count, 2)
        XCTAssertEqual(try must(["blockdev", "--getsize64", "/dev/mapper/it-pass"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "\(32 << 20)")
        XCTAssertEqual(try must(["dmsetup", "info", "-c", "--noheadings", "-o", "uuid", "it-pass"]).stdout, uuid)
        XCTAssertEqual(try must(["bash", "-c", "head -c 4194304 /dev/mapper/it-pass | sha256sum"]).stdout.prefix(64), raw.prefix(64))
        let missing = try swcrypt("map", "passthrough", "it-nothere", a.path, "--reload")
        XCTAssertEqual(missing.status, 4, missing.stderr)
        XCTAssertEqual(try swcrypt("unmap", "it-pass").status, 0)

        r = try swcrypt("map", "passthrough", "it-pass2", a.path, b.path)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = try table("it-pass2").split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(try roundTrip("/dev/mapper/it-pass2", mib: 4, seekMiB: 14), "across the boundary")
        let ls = try swcrypt("ls", "--json")
        XCTAssertTrue(ls.stdout.contains("\"it-pass2\""), ls.stdout)
        XCTAssertEqual(try swcrypt("unmap", "it-pass2").status, 0)
    }

    /// A stack whose second layer fails (a cipher the kernel lacks) leaves no mapping and no key.
    func testFailedSecondLayerLeavesNothing() throws {
        let nb = try NullBlk.create("it-nullfail", sizeMB: 32)
        defer { nb.remove() }
        let before = try dmNames()
        let r = try swcrypt("map", "crypt", "it-fail", nb.path, "--cipher", "aegis256-random", "--integrity", "aead",
                            "--emulate-metadata", "journal", "--random-key", "--skip-cipher-probe")
        XCTAssertEqual(r.status, 1, r.stderr) // the kernel refused the table (EINVAL)
        XCTAssertTrue(r.stderr.contains("Error allocating crypto tfm"), "no kernel reason in: \(r.stderr)")
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertEqual(try dmNames(), before, "a layer was left behind")
        XCTAssertFalse(try must(["cat", "/proc/keys"]).stdout.contains("swcrypt:it-fail"))
        // With the AF_ALG probe (the default) it is refused before anything is created.
        let probed = try swcrypt("map", "crypt", "it-fail", nb.path, "--cipher", "aegis256-random", "--integrity", "aead",
                                 "--emulate-metadata", "journal", "--random-key")
        XCTAssertEqual(probed.status, 1, probed.stderr)
        XCTAssertTrue(probed.stderr.contains("AF_ALG"), probed.stderr)
        XCTAssertEqual(try dmNames(), before)
    }

    /// Validation errors come before any device is touched: exit code, one line, device unchanged, nothing mapped.
    /// Both notations of every cipher the README lists give the same table, and the
    /// kernel's notation of Patocka's example maps (issue 13.11a: the AF_ALG probe
    /// was handed the name with its `capi:` prefix).
    func testKernelAndCryptsetupCipherNotations() throws {
        let meta = try KernelNamespace.byNSID(1)
        let pairs: [(String, String, String?)] = [
            ("aegis128-random", "capi:aegis128-random", nil),
            ("aes-gcm-random", "capi:gcm(aes)-random", nil),
            ("chacha20-random", "capi:rfc7539(chacha20,poly1305)-random", nil),
            ("aes-xts-random", "capi:authenc(hmac(sha256),xts(aes))-random", "hmac-sha256"),
            ("aes-xts-random", "capi:authenc(hmac(sha512),xts(aes))-random", "hmac-sha512"),
        ]
        func printTable(_ args: [String]) throws -> (status: Int32, table: [String], stderr: String) {
            let r = try execute([VM.swcrypt, "map", "crypt", "it-n", meta.path, "--random-key", "--print-table"] + args)
            return (r.status, r.lines.filter { !$0.hasPrefix("#") && !$0.isEmpty }, r.stderr)
        }
        for (cryptsetup, kernel, integrity) in pairs {
            let a = try printTable(["--cipher", cryptsetup] + (integrity.map { ["--integrity", $0] } ?? []))
            let b = try printTable(["--cipher", kernel])
            // The same outcome either way: the same table, or the same refusal
            // (hmac-sha512's 64-byte tag and 16-byte IV do not fit 64 bytes).
            XCTAssertEqual(a.status, b.status, "\(cryptsetup): \(a.stderr) / \(kernel): \(b.stderr)")
            if a.status == 0 {
                XCTAssertFalse(a.table.isEmpty)
                XCTAssertEqual(a.table, b.table, "\(cryptsetup) and \(kernel) give different tables")
                XCTAssertTrue(a.table.joined().contains(kernel), "\(a.table)")
            } else {
                XCTAssertEqual(a.stderr, b.stderr)
            }
        }
        let patocka = "capi:authenc(hmac(sha256),cbc(aes))-essiv:sha256"
        let r = try execute([VM.swcrypt, "map", "crypt", "it-capi", meta.path, "--cipher", patocka, "--sector-size", "4096", "--random-key"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let loaded = try table("it-capi")
        XCTAssertTrue(loaded.contains(patocka + " :"), loaded)
        XCTAssertEqual(try execute([VM.swcrypt, "unmap", "it-capi"]).status, 0)
        let c = try execute([VM.swcrypt, "map", "crypt", "it-capi", meta.path, "--cipher", patocka, "--integrity", "aead", "--random-key"])
        XCTAssertEqual(c.status, 1, c.stderr)
        XCTAssertTrue(c.stderr.contains("contradicts"), c.stderr)
    }

    /// `map` never writes to a device it does not hold (issue 13.2): ext4 mounted
    /// only inside another mount namespace is invisible to this one's mountinfo,
    /// but the kernel refuses swcrypt's exclusive open; and an unmounted ext4 is
    /// refused by its signature (libblkid) unless --force. The filesystem is
    /// unchanged and checks clean afterwards; passthrough still maps it.
    func testMapNeverWritesADeviceItDoesNotHold() throws {
        let nb = try NullBlk.create("it-held", sizeMB: 64)
        defer { nb.remove() }
        let dir = try VM.tempDir()
        // No lazy initialisation: the filesystem itself must not write while it sits mounted.
        try must(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", nb.path])
        func sum() throws -> String {
            try must(["bash", "-c", "dd if=\(nb.path) bs=1M count=2 iflag=direct status=none | sha256sum"]).stdout
        }
        try must(["mkdir", "-p", "\(dir)/mnt"])
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        holder.arguments = ["-m", "--propagation", "private", "sh", "-c", "mount \(nb.path) \(dir)/mnt && touch \(dir)/mounted && exec sleep 120"]
        try holder.run()
        defer { if holder.isRunning { holder.terminate(); holder.waitUntilExit() } }
        var waited = 0
        while !FileManager.default.fileExists(atPath: "\(dir)/mounted") && waited < 100 { usleep(100_000); waited += 1 }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/mounted"), "the other namespace did not mount")
        XCTAssertFalse(try must(["cat", "/proc/self/mountinfo"]).stdout.contains("\(dir)/mnt"), "the mount leaked into this namespace: the test proves nothing")
        sleep(1)   // the mount's own superblock write done
        let mounted = try sum()
        for args in [["map", "integrity", "it-held", nb.path, "--mode", "J", "--internal-hash", "crc32c"],
                     ["map", "crypt", "it-held", nb.path, "--emulate-metadata", "journal", "--random-key", "--force"]] {
            let r = try execute([VM.swcrypt] + args)
            XCTAssertEqual(r.status, 5, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("exclusive"), r.stderr)
        }
        XCTAssertEqual(try sum(), mounted, "map wrote to a filesystem mounted in another namespace")
        holder.terminate(); holder.waitUntilExit()
        // Unmounted now: the signature refuses crypt and integrity, not passthrough.
        let before = try sum()
        for args in [["map", "integrity", "it-held", nb.path, "--mode", "J", "--internal-hash", "crc32c"],
                     ["map", "crypt", "it-held", nb.path, "--emulate-metadata", "journal", "--random-key"],
                     ["map", "crypt", "it-held", nb.path, "--random-key", "--cipher", "aes-xts-plain64", "--integrity", "none", "--allow-insecure"]] {
            let r = try execute([VM.swcrypt] + args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("ext4") && r.stderr.contains("--force"), r.stderr)
        }
        XCTAssertEqual(try dmNames().filter { $0.hasPrefix("it-held") }, [])
        XCTAssertEqual(try sum(), before, "map changed the device it was refused")
        XCTAssertEqual(try execute(["e2fsck", "-f", "-n", nb.path]).status, 0, "the filesystem does not check clean")
        XCTAssertEqual(try swcrypt("map", "passthrough", "it-held", nb.path).status, 0)
        XCTAssertEqual(try swcrypt("unmap", "it-held").status, 0)
        // Beyond the filesystem's magic (1 MiB in), nothing is hidden: allowed.
        let past = try execute([VM.swcrypt, "map", "crypt", "it-held", nb.path, "--random-key", "--cipher", "aes-xts-plain64",
                                "--integrity", "none", "--allow-insecure", "--offset", "2048", "--read-only"])
        XCTAssertEqual(past.status, 0, past.stderr)
        XCTAssertEqual(try swcrypt("unmap", "it-held").status, 0)
    }

    /// `close` of a stack `map` built removes the whole stack, as `unmap` does
    /// (libcryptsetup alone would leave the dm-integrity layer) (issue 13.9).
    func testCloseRemovesAWholeMapStack() throws {
        let nb = try NullBlk.create("it-closest", sizeMB: 64)
        defer { nb.remove() }
        let r = try swcrypt("map", "crypt", "it-close", nb.path, "--cipher", "aes-gcm-random", "--emulate-metadata", "journal", "--random-key")
        XCTAssertEqual(r.status, 0, r.stderr)
        let names = try dmNames()
        XCTAssertEqual(names.filter { $0.hasPrefix("it-close") }.count, 2, "\(names)")
        let c = try swcrypt("close", "it-close")
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(try dmNames().filter { $0.hasPrefix("it-close") }, [], "close left part of the stack")
    }

    func testValidationBeforeTouching() throws {
        let plain = try KernelNamespace.byNSID(2)
        let meta = try KernelNamespace.byNSID(1)
        let dir = try VM.tempDir()
        try must(["bash", "-c", "head -c 16 /dev/urandom > \(dir)/key16"])
        try must(["bash", "-c", "head -c 1048576 /dev/urandom | dd of=\(plain.path) bs=1M oflag=direct status=none"])
        try must(["bash", "-c", "head -c 1048576 /dev/urandom | dd of=\(meta.path) bs=1M oflag=direct status=none 2>/dev/null || true"])
        let sums = (try plain.checksum(), try meta.checksum())
        let mapped = try dmNames()
        let cases: [(Int32, [String], String)] = [
            (4, ["map", "crypt", "it-v", plain.path, "--cipher", "aegis128-random", "--random-key"], "no per-sector metadata"),
            (1, ["map", "crypt", "it-v", meta.path, "--cipher", "aes-gcm-plain64", "--integrity", "aead", "--random-key"], "deterministic IV"),
            (1, ["map", "crypt", "it-v", meta.path, "--cipher", "aegis128-random", "--sector-size", "512", "--random-key"], "smaller than the device's logical block size"),
            (4, ["map", "crypt", "it-v", meta.path, "--cipher", "aes-xts-random", "--integrity", "hmac-sha512", "--key-size", "512", "--random-key"], "needs 80 bytes per sector but the device offers 64"),
            (1, ["map", "crypt", "it-v", meta.path, "--cipher", "aegis128-random", "--key-file", "\(dir)/missing"], "cannot read the key file"),
            (1, ["map", "crypt", "it-v", meta.path, "--cipher", "aes-gcm-random", "--key-file", "\(dir)/key16"], "the cipher needs 32"),
            (1, ["map", "crypt", "it/v", meta.path, "--random-key"], "contains '/'"),
            (1, ["map", "crypt", "it-" + String(repeating: "v", count: 130), meta.path, "--random-key"], "device-mapper allows 127"),
            (1, ["map", "crypt", "it-v", meta.path, "--cipher", "aes", "--random-key"], "unknown cipher"),
            (1, ["map", "crypt", "it-v", meta.path, "--cipher", "aegis256-random", "--random-key"], "the kernel has no AEAD 'aegis256'"),
            (4, ["map", "crypt", "it-v", "/dev/nonexistent", "--random-key"], "no such device"),
            (4, ["map", "crypt", "it-v", "\(dir)/key16", "--random-key"], "regular file"),
            (4, ["map", "crypt", "it-v", "/dev/null", "--random-key"], "character device"),
            (1, ["map", "crypt", "it-v", meta.path], "--key-file"),
            (1, ["map", "crypt", "it-v", meta.path, "--random-key", "--size", "9"], "not a multiple of sector_size 4096"),
            (4, ["map", "integrity", "it-v", plain.path, "--mode", "I", "--internal-hash", "crc32c"], "offers 0 bytes"),
            // Words injected into the table (issue 13.1): another device, a hex key, options.
            (1, ["map", "crypt", "it-v", meta.path, "--cipher", "aes-xts-plain64 \(String(repeating: "0", count: 64)) 0 \(try majorMinor(plain.path)) 0 1 allow_discards",
                 "--integrity", "none", "--allow-insecure", "--key-file", "\(dir)/key16"], "unknown cipher"),
            (1, ["map", "integrity", "it-v", plain.path, "--mode", "J", "--internal-hash", "crc32c fix_padding 1", "--tag-size", "4"], "white space"),
        ]
        for (status, args, text) in cases {
            let r = try execute([VM.swcrypt] + args)
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(text), "\(args): expected '\(text)' in \(r.stderr)")
        }
        XCTAssertEqual(try dmNames(), mapped, "a mapping was created")
        XCTAssertTrue((try plain.checksum(), try meta.checksum()) == sums, "a device was written")
        XCTAssertFalse(try must(["cat", "/proc/keys"]).stdout.contains("swcrypt:it-v"))
    }

    /// Names in use, mappings swcrypt did not create, busy mappings.
    func testOwnershipAndBusy() throws {
        let nb = try NullBlk.create("it-nullown", sizeMB: 16)
        defer { nb.remove() }
        XCTAssertEqual(try swcrypt("map", "passthrough", "it-own", nb.path).status, 0)
        let again = try swcrypt("map", "passthrough", "it-own", nb.path)
        XCTAssertEqual(again.status, 5, again.stderr)
        XCTAssertTrue(again.stderr.contains("exists already") || again.stderr.contains("in use"), again.stderr)
        // Foreign mapping: made with dmsetup, no SWCRYPT- uuid.
        try must(["dmsetup", "create", "it-foreign", "--table", "0 8 zero"])
        defer { _ = try? execute(["dmsetup", "remove", "it-foreign"]) }
        let foreign = try swcrypt("unmap", "it-foreign")
        XCTAssertEqual(foreign.status, 4, foreign.stderr)
        XCTAssertTrue(foreign.stderr.contains("not created by swcrypt"), foreign.stderr)
        XCTAssertTrue(try dmNames().contains("it-foreign"))
        let ls = try swcrypt("ls")
        XCTAssertFalse(ls.stdout.contains("it-foreign"), ls.stdout)
        // Busy: mounted.
        let mnt = try VM.tempDir()
        try must(["mkfs.ext4", "-q", "-F", "/dev/mapper/it-own"])
        try must(["mount", "/dev/mapper/it-own", mnt])
        let busy = try swcrypt("unmap", "it-own")
        try must(["umount", mnt])
        XCTAssertEqual(busy.status, 5, busy.stderr)
        XCTAssertTrue(busy.stderr.contains("busy"), busy.stderr)
        XCTAssertEqual(try swcrypt("unmap", "it-own").status, 0)
        let missing = try swcrypt("unmap", "it-own")
        XCTAssertEqual(missing.status, 4, missing.stderr)
    }
}
