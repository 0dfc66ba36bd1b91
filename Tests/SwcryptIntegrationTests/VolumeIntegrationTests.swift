import Foundation
import XCTest

/// LUKS2 volumes: swcrypt format/open/close/status/dump against cryptsetup 2.8
/// (the reference binary Scripts/setup builds), both ways, inline and dm-integrity.
final class VolumeIntegrationTests: LUKSTestCase {
    var passfile: String { dir + "/pass" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try must(["bash", "-c", "printf 'correct horse battery staple' > \(passfile); printf 'wrong' > \(dir)/wrong"])
    }

    override func tearDownWithError() throws {
        for name in (try? dmNames()) ?? [] where name.hasPrefix("vt-") {
            _ = try? execute([cryptsetup, "close", name])
        }
    }

    /// --pbkdf pbkdf2 (what GRUB can unlock) works, with libcryptsetup's defaults for
    /// what is not given; cryptsetup 2.8 reads the keyslot back (issue 13.10).
    func testPBKDF2Keyslot() throws {
        let ns = try KernelNamespace.byNSID(1)
        let r = try execute([VM.swcrypt, "format", ns.path, "--key-file", passfile, "--yes", "--no-verify",
                             "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let dump = try must([cryptsetup, "luksDump", ns.path]).stdout
        XCTAssertTrue(dump.contains("PBKDF:      pbkdf2"), dump)
        XCTAssertTrue(dump.contains("Iterations: 1000"), dump)
        XCTAssertFalse(dump.contains("Memory:"), dump)
        XCTAssertEqual(try execute([cryptsetup, "open", "--test-passphrase", "--key-file", passfile, ns.path]).status, 0)
        // Memory belongs to argon2 only: refused before anything is written, as cryptsetup does.
        let m = try execute([VM.swcrypt, "format", ns.path, "--key-file", passfile, "--yes",
                             "--pbkdf", "pbkdf2", "--pbkdf-memory", "32"])
        XCTAssertEqual(m.status, 1, m.stderr)
        XCTAssertTrue(m.stderr.contains("argon2 only"), m.stderr)
        XCTAssertEqual(try must([cryptsetup, "luksDump", ns.path]).stdout, dump, "the refused format changed the header")
    }

    /// format acts only on the device that was confirmed (issue 13.7): the path is
    /// a symlink switched to another disk while format waits for its passphrase
    /// (a FIFO); nothing is written to either. The switch happens once format has
    /// the FIFO open (seen in /proc/PID/fd), not after a fixed sleep: under TCG a
    /// cold start took longer than 2 s and format resolved the switched link.
    func testFormatActsOnlyOnTheConfirmedDevice() throws {
        let a = try NullBlk.create("vt-ida", sizeMB: 32), b = try NullBlk.create("vt-idb", sizeMB: 32)
        defer { a.remove(); b.remove() }
        let r = try sh("""
            ln -s \(a.path) \(dir)/disk; mkfifo \(dir)/fifo; exec 3<>\(dir)/fifo
            \(VM.swcrypt) format \(dir)/disk --batch-mode --no-wipe --key-file \(dir)/fifo \(fastPBKDF.joined(separator: " ")) 2>\(dir)/err 3>&- & p=$!
            for i in $(seq 1200); do ls -l /proc/$p/fd 2>/dev/null | grep -q '\(dir)/fifo' && break; sleep 0.1; done
            ls -l /proc/$p/fd 2>/dev/null | grep -q '\(dir)/fifo' || echo "format never opened the FIFO"
            ln -sfn \(b.path) \(dir)/disk; cat \(passfile) >&3; exec 3>&-
            wait $p; echo "status=$?"
            """)
        let err = (try? String(contentsOfFile: "\(dir)/err", encoding: .utf8)) ?? ""
        XCTAssertTrue(r.stdout.contains("status=4"), r.stdout + err)
        XCTAssertTrue(err.contains("now names another device"), err)
        for d in [a, b] {
            XCTAssertNotEqual(try execute([cryptsetup, "isLuks", d.path]).status, 0, "\(d.path) was formatted")
        }
    }

    /// --progress-json (issue 13.13): cryptsetup's JSON lines on stdout for the
    /// wipe and the read-back, the last of each at 100%.
    func testProgressJSON() throws {
        let nb = try NullBlk.create("vt-pj", sizeMB: 64)
        defer { nb.remove() }
        let r = try swcryptFormat(nb.path, ["--progress-json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var lastOf = [String: [String: String]]()
        var count = 0
        for line in r.lines where line.hasPrefix("{") {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], line)
            for key in ["device", "device_bytes", "device_size", "speed", "eta_ms", "time_ms", "phase"] {
                XCTAssertNotNil(object[key], "\(key) missing in \(line)")
            }
            XCTAssertEqual(object["device"], nb.path)
            lastOf[object["phase"] ?? "?"] = object
            count += 1
        }
        XCTAssertEqual(Set(lastOf.keys), ["wipe", "verify"], r.stdout)
        for (phase, last) in lastOf {
            XCTAssertEqual(last["device_bytes"], last["device_size"], "the last \(phase) line is not at 100%: \(last)")
            XCTAssertEqual(last["eta_ms"], "0")
        }
        print("volume: --progress-json: \(count) lines, phases \(lastOf.keys.sorted())")
    }

    /// A world-readable key file works, with a warning naming it (issue 13.9).
    func testWorldReadableKeyFileWarns() throws {
        let nb = try NullBlk.create("vt-wr", sizeMB: 32)
        defer { nb.remove() }
        XCTAssertEqual(try swcryptFormat(nb.path, ["--no-wipe"]).status, 0)
        try must(["install", "-m", "644", passfile, "\(dir)/open-key"])
        let r = try execute([VM.swcrypt, "open", nb.path, "vt-wr", "--key-file", "\(dir)/open-key"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: \(dir)/open-key is readable by every user (mode 644)"), r.stderr)
        XCTAssertEqual(try swcrypt("close", "vt-wr").status, 0)
        let quiet = try swOpen(nb.path, "vt-wr")
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertFalse(quiet.stderr.contains("readable by every user"), "a 0600 key file should draw no warning: \(quiet.stderr)")
        XCTAssertEqual(try swcrypt("close", "vt-wr").status, 0)
    }

    func swcryptFormat(_ device: String, _ extra: [String] = []) throws -> Result {
        try execute([VM.swcrypt, "format", device, "--key-file", passfile, "--yes"] + fastPBKDF + extra)
    }

    func csOpen(_ device: String, _ name: String, key: String? = nil) throws -> Result {
        try execute([cryptsetup, "open", "--key-file", key ?? passfile, device, name])
    }

    func swOpen(_ device: String, _ name: String, key: String? = nil) throws -> Result {
        try execute([VM.swcrypt, "open", device, name, "--key-file", key ?? passfile])
    }

    /// Writes random data through one mapping, returns its checksum.
    func writeData(_ name: String, mib: Int = 4) throws -> String {
        try must(["bash", "-c", "head -c \(mib << 20) /dev/urandom > \(dir)/data && dd if=\(dir)/data of=/dev/mapper/\(name) bs=1M oflag=direct conv=fsync status=none"])
        return String(try must(["sha256sum", "\(dir)/data"]).stdout.prefix(64))
    }

    func readData(_ name: String, mib: Int = 4) throws -> String {
        String(try must(["bash", "-c", "dd if=/dev/mapper/\(name) bs=1M count=\(mib) iflag=direct status=none | sha256sum"]).stdout.prefix(64))
    }

    /// The table without the key field (keyring references differ by design).
    func tableWithoutKey(_ name: String) throws -> [[String]] {
        try must(["dmsetup", "table", name]).lines.filter { !$0.isEmpty }.map { line in
            var f = line.split(separator: " ").map(String.init)
            if f.count > 4 && f[2] == "crypt" { f[4] = "<key>" }
            return f
        }
    }

    func json(_ r: Result) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout + r.stderr)
    }

    /// cryptsetup status fields ("  cipher:  aegis128-random").
    func csStatus(_ name: String) throws -> [String: String] {
        var d = [String: String]()
        for line in try must([cryptsetup, "status", name]).lines {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { d[parts[0]] = parts[1] }
        }
        return d
    }

    func assertStatusAgrees(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let cs = try csStatus(name)
        let sw = try json(try execute([VM.swcrypt, "status", name, "--json"]))
        XCTAssertEqual(cs["cipher"], sw["cipher"] as? String, "cipher", file: file, line: line)
        // cryptsetup prints "4096 [bytes]" and "32 [bytes]  (inline HW tags)": compare the numbers.
        func number(_ s: String?) -> Int? { s.flatMap { Int($0.split(separator: " ").first ?? "") } }
        XCTAssertEqual(number(cs["sector size"]), sw["sector_size"] as? Int, "sector size", file: file, line: line)
        XCTAssertEqual(cs["integrity"], sw["integrity"] as? String, "integrity", file: file, line: line)
        XCTAssertEqual(number(cs["integrity tag size"]), sw["tag_bytes"] as? Int, "tag size", file: file, line: line)
        XCTAssertEqual(cs["integrity tag size"]?.contains("inline HW tags"), sw["tags"] as? String == "inline-hw", "tag layout", file: file, line: line)
    }

    /// swcrypt format (inline, 4096+64) -> cryptsetup open -> swcrypt open, and the reverse.
    func testInlineInteroperatesBothWays() throws {
        let ns = try KernelNamespace.byNSID(1)
        var r = try swcryptFormat(ns.path)
        XCTAssertEqual(r.status, 0, r.stderr)
        let dump = try json(try execute([VM.swcrypt, "dump", ns.path, "--json"]))
        XCTAssertEqual(dump["tags"] as? String, "inline-hw")
        XCTAssertEqual(dump["tag_bytes"] as? Int, 32)
        XCTAssertEqual(dump["cipher"] as? String, "aegis128-random")
        XCTAssertEqual(dump["initialised"] as? Bool, true)
        XCTAssertTrue(try must([cryptsetup, "luksDump", ns.path]).stdout.contains("inline-hw-tags"), "cryptsetup does not see the inline requirement")

        // format read every sector back through its own mapping and says so; it
        // fails when a sector stays unreadable.
        XCTAssertTrue(r.stdout.contains("verified: every sector reads back"), r.stdout)
        XCTAssertEqual(try csOpen(ns.path, "vt-cs").status, 0)
        // Every sector reads through cryptsetup's mapping too: the tags swcrypt wrote are the standard ones.
        let reread = try execute(["dd", "if=/dev/mapper/vt-cs", "of=/dev/null", "bs=1M", "iflag=direct", "status=none"])
        XCTAssertEqual(reread.status, 0, "whole-volume read through cryptsetup's mapping after swcrypt's format: \(reread.stderr)")
        let sum = try writeData("vt-cs")
        let csTable = try tableWithoutKey("vt-cs")
        try assertStatusAgrees("vt-cs")
        XCTAssertEqual(try execute([cryptsetup, "close", "vt-cs"]).status, 0)

        r = try swOpen(ns.path, "vt-sw")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try readData("vt-sw"), sum, "data written by cryptsetup differs through swcrypt")
        XCTAssertEqual(try tableWithoutKey("vt-sw"), csTable, "swcrypt's table differs from cryptsetup's")
        try assertStatusAgrees("vt-sw")
        XCTAssertFalse(try must(["dmsetup", "table", "--showkeys", "vt-sw"]).stdout.contains(try must(["cat", passfile]).stdout))
        // cryptsetup closes swcrypt's mapping.
        XCTAssertEqual(try execute([cryptsetup, "close", "vt-sw"]).status, 0)

        // The reverse: cryptsetup formats, swcrypt opens and closes.
        r = try execute([cryptsetup, "luksFormat", "--batch-mode", "--type", "luks2", "--integrity-inline", "--integrity", "aead",
                         "-c", "aegis128-random", "--key-size", "128", "--sector-size", "4096", "--integrity-no-wipe",
                         "--key-file", passfile] + fastPBKDF + [ns.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try csOpen(ns.path, "vt-cs").status, 0)
        let sum2 = try writeData("vt-cs")
        XCTAssertEqual(try execute([cryptsetup, "close", "vt-cs"]).status, 0)
        r = try swOpen(ns.path, "vt-sw")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try readData("vt-sw"), sum2)
        try assertStatusAgrees("vt-sw")
        r = try execute([VM.swcrypt, "close", "vt-sw"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(try dmNames().contains("vt-sw"))
    }

    /// The same both ways for the dm-integrity layout on the 4096+0 namespace.
    func testDMIntegrityInteroperatesBothWays() throws {
        let ns = try KernelNamespace.byNSID(2)
        XCTAssertEqual(ns.metadataBytes, 0)
        var r = try swcryptFormat(ns.path, ["--cipher", "aes-gcm-random"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let dump = try json(try execute([VM.swcrypt, "dump", ns.path, "--json"]))
        XCTAssertEqual(dump["tags"] as? String, "dm-integrity-journal")
        XCTAssertEqual(dump["tag_bytes"] as? Int, 28)
        XCTAssertEqual(try csOpen(ns.path, "vt-cs").status, 0)
        let sum = try writeData("vt-cs")
        let csTables = [try tableWithoutKey("vt-cs"), try tableWithoutKey("vt-cs_dif")]
        try assertStatusAgrees("vt-cs")
        XCTAssertEqual(try execute([cryptsetup, "close", "vt-cs"]).status, 0)
        r = try swOpen(ns.path, "vt-cs")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try readData("vt-cs"), sum)
        XCTAssertEqual([try tableWithoutKey("vt-cs"), try tableWithoutKey("vt-cs_dif")], csTables)
        try assertStatusAgrees("vt-cs")
        XCTAssertEqual(try execute([cryptsetup, "close", "vt-cs"]).status, 0)
        XCTAssertTrue(try dmNames().isDisjoint(with: ["vt-cs", "vt-cs_dif"]), "cryptsetup left a layer of swcrypt's volume")

        r = try execute([cryptsetup, "luksFormat", "--batch-mode", "--type", "luks2", "--integrity", "aead", "-c", "aes-gcm-random",
                         "--sector-size", "4096", "--integrity-no-wipe", "--key-file", passfile] + fastPBKDF + [ns.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try csOpen(ns.path, "vt-cs").status, 0)
        let sum2 = try writeData("vt-cs")
        XCTAssertEqual(try execute([cryptsetup, "close", "vt-cs"]).status, 0)
        r = try swOpen(ns.path, "vt-sw")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try readData("vt-sw"), sum2)
        try assertStatusAgrees("vt-sw")
        r = try execute([VM.swcrypt, "close", "vt-sw"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(try dmNames().isDisjoint(with: ["vt-sw", "vt-sw_dif"]), "swcrypt close left a layer")
    }

    /// Wrong passphrase: exit 2, nothing activated. Tampered sector: the read fails.
    func testWrongPassphraseAndTampering() throws {
        let ns = try KernelNamespace.byNSID(1)
        XCTAssertEqual(try swcryptFormat(ns.path).status, 0)
        let before = try dmNames()
        let wrong = try swOpen(ns.path, "vt-x", key: "\(dir)/wrong")
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("passphrase"), wrong.stderr)
        XCTAssertEqual(wrong.stderr.split(separator: "\n").count, 1, wrong.stderr)
        XCTAssertEqual(try dmNames(), before)
        let empty = try execute([VM.swcrypt, "open", ns.path, "vt-x", "--key-file", "/dev/null"])
        XCTAssertEqual(empty.status, 1, empty.stderr)
        XCTAssertTrue(empty.stderr.contains("empty"), empty.stderr)

        XCTAssertEqual(try swOpen(ns.path, "vt-x").status, 0)
        _ = try writeData("vt-x", mib: 1)
        XCTAssertEqual(try execute([VM.swcrypt, "close", "vt-x"]).status, 0)
        // Data block 3 of the volume sits after the LUKS2 header (16 MiB = 4096 blocks).
        let offsetBlocks = 4096 + 3
        try must(["bash", "-c", """
            set -e
            dd if=\(ns.path) of=\(dir)/blk bs=4096 skip=\(offsetBlocks) count=1 iflag=direct status=none
            printf '\\x%02x' $(( $(od -An -tu1 -j7 -N1 \(dir)/blk) ^ 128 )) | dd of=\(dir)/blk bs=1 seek=7 conv=notrunc status=none
            dd if=\(dir)/blk of=\(ns.path) bs=4096 seek=\(offsetBlocks) count=1 oflag=direct status=none
            """])
        XCTAssertEqual(try swOpen(ns.path, "vt-x").status, 0)
        let bad = try execute(["dd", "if=/dev/mapper/vt-x", "of=/dev/null", "bs=4096", "skip=3", "count=1", "iflag=direct", "status=none"])
        XCTAssertNotEqual(bad.status, 0, "tampered data was returned")
        // status reports the kernel's integrity failure for this volume, with its sector.
        let st = try json(try execute([VM.swcrypt, "status", "vt-x", "--json"]))
        let errors = try XCTUnwrap(st["integrity_errors"] as? [String: Any], "\(st)")
        XCTAssertGreaterThanOrEqual(errors["count"] as? Int ?? 0, 1, "\(errors)")
        // (The kernel rate-limits these lines, and earlier volumes on the same
        // device count too: the last one logged need not be this read's.)
        XCTAssertNotNil(errors["last_device"] as? String, "\(errors)")
        XCTAssertNotNil(errors["last_sector"] as? Int, "\(errors)")
        let good = try execute(["dd", "if=/dev/mapper/vt-x", "of=/dev/null", "bs=4096", "skip=2", "count=1", "iflag=direct", "status=none"])
        XCTAssertEqual(good.status, 0, good.stderr)
        // Busy: a mounted mapping cannot be closed (exit 5, the mount point named),
        // nor one held by another mapping (the holder named).
        try must(["mkfs.ext4", "-q", "-F", "/dev/mapper/vt-x"])
        try must(["mkdir", "-p", "\(dir)/mnt"])
        try must(["mount", "/dev/mapper/vt-x", "\(dir)/mnt"])
        try must(["bash", "-c", "head -c 8388608 /dev/urandom > \(dir)/mnt/f && sync"])
        let mounted = try execute([VM.swcrypt, "close", "vt-x"])
        XCTAssertEqual(mounted.status, 5, mounted.stderr)
        XCTAssertTrue(mounted.stderr.contains("\(dir)/mnt"), mounted.stderr)
        XCTAssertEqual(mounted.stderr.split(separator: "\n").count, 1, mounted.stderr)
        try must(["umount", "\(dir)/mnt"])
        XCTAssertEqual(try execute(["fsck.ext4", "-n", "-f", "/dev/mapper/vt-x"]).status, 0, "the filesystem written through the inline volume does not check clean")
        let sectors = try must(["blockdev", "--getsz", "/dev/mapper/vt-x"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try must(["dmsetup", "create", "vt-holder", "--table", "0 \(sectors) linear /dev/mapper/vt-x 0"])
        let busy = try execute([VM.swcrypt, "close", "vt-x"])
        try must(["dmsetup", "remove", "vt-holder"])
        XCTAssertEqual(busy.status, 5, busy.stderr)
        XCTAssertTrue(busy.stderr.contains("vt-holder"), busy.stderr)
        XCTAssertEqual(try execute([VM.swcrypt, "close", "vt-x"]).status, 0)
    }

    /// One command from a blank 4096+0 namespace to an inline volume; then the
    /// namespace is reformatted underneath and open explains why it cannot work.
    func testNvmeLbafAutoAndReformattedUnderneath() throws {
        var ns = try KernelNamespace.byNSID(2)
        defer { _ = try? execute([VM.swcrypt, "nvme-format", (try? KernelNamespace.byNSID(2).path) ?? ns.path, "--lbaf", "4", "--yes"]) }
        let noTTY = try execute([VM.swcrypt, "format", ns.path, "--key-file", passfile, "--nvme-lbaf", "auto"] + fastPBKDF)
        XCTAssertEqual(noTTY.status, 1, noTTY.stderr)
        XCTAssertTrue(noTTY.stderr.contains("--yes"), noTTY.stderr)
        XCTAssertEqual(ns.metadataBytes, 0, "refused format changed the namespace")

        let r = try swcryptFormat(ns.path, ["--nvme-lbaf", "auto"])
        XCTAssertEqual(r.status, 0, r.stderr)
        ns = try KernelNamespace.byNSID(2)
        XCTAssertEqual(ns.metadataBytes, 64)
        XCTAssertEqual(ns.integrityFormat, "nop")
        XCTAssertEqual(try ns.nvmeCLIInUse(), 7)
        let dump = try json(try execute([VM.swcrypt, "dump", ns.path, "--json"]))
        XCTAssertEqual(dump["tags"] as? String, "inline-hw")

        XCTAssertEqual(try execute([VM.swcrypt, "nvme-format", ns.path, "--lbaf", "4", "--yes"]).status, 0)
        ns = try KernelNamespace.byNSID(2)
        // The format zero-filled the namespace: no header any more.
        let gone = try swOpen(ns.path, "vt-re")
        XCTAssertEqual(gone.status, 4, gone.stderr)
        XCTAssertTrue(gone.stderr.contains("no LUKS2 header"), gone.stderr)
    }

    /// An inline volume's header copied onto a device without metadata: open says why.
    func testInlineVolumeOnDeviceWithoutMetadata() throws {
        let meta = try KernelNamespace.byNSID(1), plain = try KernelNamespace.byNSID(2)
        XCTAssertEqual(try swcryptFormat(meta.path, ["--no-wipe"]).status, 0)
        // The LUKS2 header area (16 MiB) moved to the 4096+0 namespace, as after a reformat that kept data.
        try must(["dd", "if=\(meta.path)", "of=\(plain.path)", "bs=1M", "count=16", "iflag=direct", "oflag=direct", "status=none"])
        let r = try swOpen(plain.path, "vt-y")
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertTrue(r.stderr.contains("inline HW tags") && r.stderr.contains("reformatted"), r.stderr)
        XCTAssertFalse(try dmNames().contains("vt-y"))
    }
}
