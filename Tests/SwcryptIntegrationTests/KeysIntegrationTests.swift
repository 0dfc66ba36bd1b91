import Foundation
import XCTest

/// Key slots, header backup/restore and the full metadata dump (issue 15, 1 and 2),
/// with cryptsetup 2.8 as the witness: every change swcrypt makes is read back by
/// cryptsetup (luksDump --dump-json-metadata, open --test-passphrase), and what
/// cryptsetup writes, swcrypt reads.
final class KeysIntegrationTests: LUKSTestCase {

    override func setUpWithError() throws {
        try super.setUpWithError()
        for (name, text) in [("p1", "first passphrase"), ("p2", "second passphrase"), ("p3", "third passphrase"), ("wrong", "wrong")] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
        }
        // A key file with 5 bytes of junk before a 10-byte passphrase and more after it.
        try Data("JUNK!tenbytes!!trailing".utf8).write(to: URL(fileURLWithPath: "\(dir)/ranged"))
    }

    func key(_ name: String) -> String { "\(dir)/\(name)" }

    /// A dm-integrity-layout volume on a null_blk disk (no wipe: keys only).
    func volume(_ name: String) throws -> NullBlk {
        let nb = try NullBlk.create(name, sizeMB: 48)
        try VM.wipeSignatures(nb.path)
        let r = try execute([VM.swcrypt, "format", nb.path, "--key-file", key("p1"), "--yes", "--no-wipe", "--integrity-mode", "no-journal"] + fastPBKDF)
        XCTAssertEqual(r.status, 0, r.stderr)
        return nb
    }

    /// The keyslot numbers cryptsetup reads from the header.
    func csSlots(_ device: String) throws -> [String] {
        let json = try must([cryptsetup, "luksDump", "--dump-json-metadata", device]).stdout
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return (object["keyslots"] as? [String: Any] ?? [:]).keys.sorted()
    }

    /// Exit status of cryptsetup's own passphrase check.
    func csTest(_ device: String, _ keyFile: String, slot: Int? = nil, extra: [String] = []) throws -> Int32 {
        try execute([cryptsetup, "open", "--test-passphrase", "--key-file", keyFile] + (slot.map { ["--key-slot", "\($0)"] } ?? [])
                    + extra + [device]).status
    }

    func testAddChangeRemoveKillAsCryptsetupSeesThem() throws {
        let nb = try volume("kt-keys")
        defer { nb.remove() }
        let d = nb.path
        XCTAssertEqual(try csSlots(d), ["0"])

        // add: authenticated by an existing passphrase; a wrong one is exit 2 and changes nothing.
        let wrong = try execute([VM.swcrypt, "key", "add", d, "--key-file", key("wrong"), "--new-key-file", key("p2")] + fastPBKDF)
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("no keyslot opens with this passphrase"), wrong.stderr)
        XCTAssertEqual(try csSlots(d), ["0"])
        let add = try execute([VM.swcrypt, "key", "add", d, "--key-file", key("p1"), "--new-key-file", key("p2")] + fastPBKDF)
        XCTAssertEqual(add.status, 0, add.stderr)
        XCTAssertTrue(add.stderr.contains("Key slot 1 created."), add.stderr)
        XCTAssertEqual(try csSlots(d), ["0", "1"])
        XCTAssertEqual(try csTest(d, key("p2"), slot: 1), 0, "cryptsetup does not open slot 1 with the new passphrase")
        let taken = try execute([VM.swcrypt, "key", "add", d, "--key-file", key("p1"), "--new-key-file", key("p3"), "--key-slot", "1"] + fastPBKDF)
        XCTAssertEqual(taken.status, 5, taken.stderr)

        // list: what cryptsetup's JSON says about each slot.
        let list = try must([VM.swcrypt, "key", "list", d, "--json"]).stdout
        let listed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [String: Any])
        let slots = try XCTUnwrap(listed["keyslots"] as? [[String: Any]])
        XCTAssertEqual(slots.compactMap { $0["keyslot"] as? Int }, [0, 1])
        let meta = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try must([cryptsetup, "luksDump", "--dump-json-metadata", d]).stdout.utf8)) as? [String: Any])
        for s in slots {
            let kdf = try XCTUnwrap(((meta["keyslots"] as? [String: Any])?["\(s["keyslot"]!)"] as? [String: Any])?["kdf"] as? [String: Any])
            XCTAssertEqual(s["pbkdf"] as? String, kdf["type"] as? String)
            XCTAssertEqual(s["iterations"] as? Int, kdf["time"] as? Int)
            XCTAssertEqual(s["memory_kib"] as? Int, kdf["memory"] as? Int)
            XCTAssertEqual(s["threads"] as? Int, kdf["cpus"] as? Int)
        }

        // change: the same slot gets the new passphrase; the old one no longer opens.
        let change = try execute([VM.swcrypt, "key", "change", d, "--key-file", key("p2"), "--new-key-file", key("p3")] + fastPBKDF)
        XCTAssertEqual(change.status, 0, change.stderr)
        XCTAssertTrue(change.stderr.contains("Key slot 1 changed."), change.stderr)
        XCTAssertEqual(try csTest(d, key("p3"), slot: 1), 0)
        XCTAssertEqual(try csTest(d, key("p2")), 2)
        // open --test-passphrase, and --key-slot restricting it.
        XCTAssertEqual(try execute([VM.swcrypt, "open", "--test-passphrase", d, "--key-file", key("p3")]).status, 0)
        XCTAssertEqual(try execute([VM.swcrypt, "open", "--test-passphrase", d, "--key-file", key("p3"), "--key-slot", "0"]).status, 2)

        // remove: the slot the passphrase opens.
        let remove = try execute([VM.swcrypt, "key", "remove", d, "--key-file", key("p3")])
        XCTAssertEqual(remove.status, 0, remove.stderr)
        XCTAssertEqual(try csSlots(d), ["0"])
        // The last slot: refused without --force, header unchanged, the reason spelled out.
        let before = try must([cryptsetup, "luksDump", d]).stdout
        let last = try execute([VM.swcrypt, "key", "remove", d, "--key-file", key("p1")])
        XCTAssertEqual(last.status, 1, last.stderr)
        XCTAssertTrue(last.stderr.contains("is the last one") && last.stderr.contains("--force"), last.stderr)
        let lastKill = try execute([VM.swcrypt, "key", "kill", d, "0", "--batch-mode"])
        XCTAssertEqual(lastKill.status, 1, lastKill.stderr)
        XCTAssertEqual(try must([cryptsetup, "luksDump", d]).stdout, before)

        // kill: a passphrase of a slot that stays must be given (unless batch mode).
        XCTAssertEqual(try must([VM.swcrypt, "key", "add", d, "--key-file", key("p1"), "--new-key-file", key("p2")] + fastPBKDF).status, 0)
        let own = try execute([VM.swcrypt, "key", "kill", d, "0", "--key-file", key("p1")])
        XCTAssertEqual(own.status, 1, own.stderr)
        XCTAssertTrue(own.stderr.contains("opens keyslot 0"), own.stderr)
        XCTAssertEqual(try csSlots(d), ["0", "1"])
        let kill = try execute([VM.swcrypt, "key", "kill", d, "0", "--key-file", key("p2")])
        XCTAssertEqual(kill.status, 0, kill.stderr)
        XCTAssertEqual(try csSlots(d), ["1"])
        XCTAssertEqual(try csTest(d, key("p1")), 2, "slot 0's passphrase still opens")

        // The other way round: a slot cryptsetup adds, swcrypt lists and opens with.
        try must([cryptsetup, "luksAddKey", "--batch-mode", "--key-file", key("p2"), "--key-slot", "5",
                  "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", d, key("p3")])
        let afterCS = try must([VM.swcrypt, "key", "list", d]).stdout
        XCTAssertTrue(afterCS.contains("keyslot 5: pbkdf2 (sha256), 1000 iterations"), afterCS)
        XCTAssertEqual(try execute([VM.swcrypt, "open", "--test-passphrase", d, "--key-file", key("p3")]).status, 0)
    }

    /// --keyfile-offset/--keyfile-size take the same bytes as cryptsetup's.
    func testKeyFileRanges() throws {
        let nb = try volume("kt-range")
        defer { nb.remove() }
        let d = nb.path
        let add = try execute([VM.swcrypt, "key", "add", d, "--key-file", key("p1"), "--new-key-file", key("ranged"),
                               "--new-keyfile-offset", "5", "--new-keyfile-size", "10"] + fastPBKDF)
        XCTAssertEqual(add.status, 0, add.stderr)
        XCTAssertEqual(try csTest(d, key("ranged"), extra: ["--keyfile-offset", "5", "--keyfile-size", "10"]), 0)
        XCTAssertEqual(try execute([VM.swcrypt, "open", "--test-passphrase", d, "--key-file", key("ranged"),
                                    "--keyfile-offset", "5", "--keyfile-size", "10"]).status, 0)
        XCTAssertEqual(try execute([VM.swcrypt, "open", "--test-passphrase", d, "--key-file", key("ranged")]).status, 2,
                       "the whole file opened a slot made from 10 of its bytes")
        let short = try execute([VM.swcrypt, "open", "--test-passphrase", d, "--key-file", key("ranged"),
                                 "--keyfile-offset", "20", "--keyfile-size", "10"])
        XCTAssertEqual(short.status, 1, short.stderr)
        XCTAssertTrue(short.stderr.contains("fewer than --keyfile-size"), short.stderr)
    }

    func testHeaderBackupAndRestoreInteroperate() throws {
        let a = try volume("kt-hda"), b = try volume("kt-hdb")
        defer { a.remove(); b.remove() }
        let mine = "\(dir)/a.swcrypt", theirs = "\(dir)/a.cryptsetup"
        let backup = try execute([VM.swcrypt, "header", "backup", a.path, mine])
        XCTAssertEqual(backup.status, 0, backup.stderr)
        let mode = try FileManager.default.attributesOfItem(atPath: mine)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        let again = try execute([VM.swcrypt, "header", "backup", a.path, mine])
        XCTAssertEqual(again.status, 5, again.stderr)
        try must([cryptsetup, "luksHeaderBackup", a.path, "--header-backup-file", theirs])
        let sums = try must(["sha256sum", mine, theirs]).lines.map { $0.prefix(64) }
        XCTAssertEqual(sums[0], sums[1], "swcrypt's backup differs from cryptsetup's of the same header")
        // A backup is a header: key list and dump read it.
        XCTAssertTrue(try must([VM.swcrypt, "key", "list", mine]).stdout.contains("keyslot 0:"))

        // A slot added after the backup is gone after swcrypt restores it...
        try must([VM.swcrypt, "key", "add", a.path, "--key-file", key("p1"), "--new-key-file", key("p2")] + fastPBKDF)
        XCTAssertEqual(try csSlots(a.path), ["0", "1"])
        let noTerminal = try execute([VM.swcrypt, "header", "restore", a.path, mine])
        XCTAssertEqual(noTerminal.status, 1, "restored without confirmation: \(noTerminal.stderr)")
        XCTAssertEqual(try csSlots(a.path), ["0", "1"])
        let restore = try execute([VM.swcrypt, "header", "restore", a.path, mine, "--batch-mode"])
        XCTAssertEqual(restore.status, 0, restore.stderr)
        XCTAssertEqual(try csSlots(a.path), ["0"])
        XCTAssertEqual(try csTest(a.path, key("p1")), 0)
        // ...and after cryptsetup restores swcrypt's backup.
        try must([VM.swcrypt, "key", "add", a.path, "--key-file", key("p1"), "--new-key-file", key("p2")] + fastPBKDF)
        try must([cryptsetup, "luksHeaderRestore", "--batch-mode", a.path, "--header-backup-file", mine])
        XCTAssertEqual(try csSlots(a.path), ["0"])
        // swcrypt restores cryptsetup's backup.
        XCTAssertEqual(try execute([VM.swcrypt, "header", "restore", a.path, theirs, "--batch-mode"]).status, 0)

        // Another volume's backup: refused, B untouched; with --force, B gets A's header.
        let bDump = try must([cryptsetup, "luksDump", b.path]).stdout
        let other = try execute([VM.swcrypt, "header", "restore", b.path, mine, "--batch-mode"])
        XCTAssertEqual(other.status, 1, other.stderr)
        XCTAssertTrue(other.stderr.contains("is of the volume"), other.stderr)
        XCTAssertEqual(try must([cryptsetup, "luksDump", b.path]).stdout, bDump)
        XCTAssertEqual(try execute([VM.swcrypt, "header", "restore", b.path, mine, "--batch-mode", "--force"]).status, 0)
        XCTAssertEqual(try must([cryptsetup, "luksUUID", b.path]).stdout, try must([cryptsetup, "luksUUID", a.path]).stdout)
    }

    /// A device holding a filesystem, no LUKS header: a restore would destroy it.
    func testRestoreOverAFilesystemIsRefused() throws {
        let a = try volume("kt-hdc")
        let fs = try NullBlk.create("kt-hdd", sizeMB: 48)
        defer { a.remove(); fs.remove() }
        try must([VM.swcrypt, "header", "backup", a.path, "\(dir)/c"])
        try must(["mkfs.ext4", "-q", fs.path])
        let r = try execute([VM.swcrypt, "header", "restore", fs.path, "\(dir)/c", "--batch-mode"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("ext4"), r.stderr)
        XCTAssertEqual(try must(["blkid", "-o", "value", "-s", "TYPE", fs.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ext4")
    }

    /// dump --json carries the complete LUKS2 metadata, equal to cryptsetup's, on an inline volume.
    func testDumpJSONCarriesTheMetadata() throws {
        let ns = try KernelNamespace.byNSID(1)
        try VM.wipeSignatures(ns.path)
        let f = try execute([VM.swcrypt, "format", ns.path, "--key-file", key("p1"), "--yes", "--no-wipe"] + fastPBKDF)
        XCTAssertEqual(f.status, 0, f.stderr)
        try must([VM.swcrypt, "key", "add", ns.path, "--key-file", key("p1"), "--new-key-file", key("p2")] + fastPBKDF)
        let ours = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try must([VM.swcrypt, "dump", ns.path, "--json"]).stdout.utf8)) as? [String: Any])
        let theirs = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try must([cryptsetup, "luksDump", "--dump-json-metadata", ns.path]).stdout.utf8)) as? NSDictionary)
        XCTAssertEqual(ours["luks2"] as? NSDictionary, theirs)
        XCTAssertEqual(ours["tags"] as? String, "inline-hw")
        XCTAssertEqual(ours["keyslots"] as? [Int], [0, 1])
        XCTAssertEqual(try csTest(ns.path, key("p2"), slot: 1), 0)
    }

    /// Tokens (issue 15, part 3, the libcryptsetup half): a luks2-keyring token
    /// imported by swcrypt is what cryptsetup exports; open tries it before any
    /// passphrase, --token-only never asks, and a token that cannot open falls back.
    func testTokensOpenBeforeThePassphrase() throws {
        let nb = try volume("kt-tok")
        defer { nb.remove(); _ = try? execute([VM.swcrypt, "close", "kt-tokvol"]) }
        let d = nb.path
        let token = #"{"type":"luks2-keyring","keyslots":["0"],"key_description":"swcrypt-kt-token"}"#
        let imported = try execute([VM.swcrypt, "token", "import", d], stdin: token)
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(imported.stderr.contains("Token 0 created."), imported.stderr)
        let theirs = try must([cryptsetup, "token", "export", "--token-id", "0", d]).stdout
        let ours = try must([VM.swcrypt, "token", "export", d, "--token-id", "0"]).stdout
        XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(ours.utf8)) as? NSDictionary,
                       try JSONSerialization.jsonObject(with: Data(theirs.utf8)) as? NSDictionary)
        let listed = try must([VM.swcrypt, "token", "list", d, "--json"]).stdout
        let tokens = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]])
        XCTAssertEqual(tokens.first?["type"] as? String, "luks2-keyring")
        XCTAssertEqual(tokens.first?["keyslots"] as? [Int], [0])
        let slotLine = try must([VM.swcrypt, "key", "list", d]).lines.first { $0.contains("keyslot 0:") } ?? ""
        XCTAssertTrue(slotLine.hasSuffix(", tokens 0"), slotLine)

        // The passphrase in the session keyring: open needs no key file and no terminal.
        let viaToken = try sh("keyctl session - bash -c 'keyctl padd user swcrypt-kt-token @s < \(key("p1")) > /dev/null && \(VM.swcrypt) open \(d) kt-tokvol < /dev/null'")
        XCTAssertEqual(viaToken.status, 0, viaToken.stdout + viaToken.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/dev/mapper/kt-tokvol"))
        try must([VM.swcrypt, "close", "kt-tokvol"])

        // No key in the keyring: --token-only fails with the reason, exit 2; without it, the passphrase.
        // (libcryptsetup's keyring handler reports a missing key as EPERM, as a wrong one.)
        let only = try sh("keyctl session - \(VM.swcrypt) open \(d) kt-tokvol --token-only < /dev/null")
        XCTAssertEqual(only.status, 2, only.stderr)
        XCTAssertTrue(only.stderr.contains("no token gave a passphrase that opens a keyslot"), only.stderr)
        // A token type restriction no token matches: nothing eligible (ENOENT).
        let none = try sh("keyctl session - \(VM.swcrypt) open \(d) kt-tokvol --token-only --token-type systemd-tpm2 < /dev/null")
        XCTAssertEqual(none.status, 2, none.stderr)
        XCTAssertTrue(none.stderr.contains("no token of the volume could unlock it"), none.stderr)
        let fallback = try sh("keyctl session - \(VM.swcrypt) open \(d) kt-tokvol --key-file \(key("p1"))")
        XCTAssertEqual(fallback.status, 0, fallback.stderr)
        XCTAssertTrue(fallback.stderr.contains("no token opened the volume"), fallback.stderr)
        try must([VM.swcrypt, "close", "kt-tokvol"])
        // A wrong passphrase in the keyring: the token opens no slot.
        let wrong = try sh("keyctl session - bash -c 'keyctl padd user swcrypt-kt-token @s < \(key("wrong")) > /dev/null && \(VM.swcrypt) open \(d) kt-tokvol --token-only < /dev/null'")
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("no token gave a passphrase that opens a keyslot"), wrong.stderr)

        // remove: gone for cryptsetup too; the keyslot stays.
        XCTAssertEqual(try execute([VM.swcrypt, "token", "remove", d, "--token-id", "0"]).status, 0)
        XCTAssertNotEqual(try execute([cryptsetup, "token", "export", "--token-id", "0", d]).status, 0)
        XCTAssertEqual(try csSlots(d), ["0"])
    }
}
