import Foundation
import XCTest

/// `swcrypt scrub` (issue 16, part 1) against the kernel: blocks altered on the raw
/// namespace beneath an inline volume with ext4 on it, found down to the block
/// and named (file, filesystem metadata, free space) with e2fsprogs' own view as
/// the witness (filefrag, debugfs, dumpe2fs); --rewrite-free; a scrub interrupted
/// and resumed from its checkpoint on a dm-integrity volume.
final class ScrubIntegrationTests: LUKSTestCase {
    func key() throws -> String {
        let path = "\(dir)/pass"
        try Data("scrub passphrase".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func scrub(_ args: [String]) throws -> (Result, [String: Any]) {
        let r = try execute([VM.swcrypt, "scrub"] + args + ["--json"])
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return (r, try XCTUnwrap(object, r.stdout + r.stderr))
    }

    /// One 4096-byte block of random data written over the raw device, beneath the
    /// mapping: its tag no longer matches.
    func tamper(_ raw: String, block: UInt64) throws {
        try must(["dd", "if=/dev/urandom", "of=\(raw)", "bs=4096", "seek=\(block)", "count=1", "oflag=direct", "conv=notrunc", "status=none"])
    }

    /// A direct read of one block of the mapping, as the kernel answers it.
    func readsBack(_ volume: String, block: UInt64) throws -> Bool {
        try execute(["dd", "if=\(volume)", "of=/dev/null", "bs=4096", "skip=\(block)", "count=1", "iflag=direct", "status=none"]).status == 0
    }

    func testFindsAndNamesDamagedBlocksOnInlineExt4() throws {
        let ns = try KernelNamespace.byNSID(1)
        XCTAssertEqual(ns.metadataBytes, 64)
        try VM.wipeSignatures(ns.path)
        let mnt = "\(dir)/mnt"
        defer {
            _ = try? execute(["umount", mnt])
            _ = try? execute([VM.swcrypt, "close", "sc-vol"])
        }
        let f = try execute([VM.swcrypt, "format", ns.path, "--key-file", try key(), "--yes", "--no-verify"] + fastPBKDF)
        XCTAssertEqual(f.status, 0, f.stderr)
        try must([VM.swcrypt, "open", ns.path, "sc-vol", "--key-file", try key()])
        let vol = "/dev/mapper/sc-vol"
        try must(["mkfs.ext4", "-q", "-b", "4096", vol])
        try must(["mkdir", "-p", mnt])
        try must(["mount", vol, mnt])
        try must(["bash", "-c", "head -c 2097152 /dev/urandom > \(mnt)/damaged.bin && head -c 1048576 /dev/urandom > \(mnt)/intact.bin && sync"])

        // The witnesses: filefrag (FIEMAP) for a block of the file, dumpe2fs for a
        // backup superblock (filesystem metadata), debugfs for a free block.
        let frag = try must(["filefrag", "-b4096", "-v", "\(mnt)/damaged.bin"]).stdout
        let extentLine = try XCTUnwrap(frag.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("0:") }, frag)
        let physical = try XCTUnwrap(UInt64(extentLine.split(separator: ":")[2].split(separator: ".")[0].trimmingCharacters(in: .whitespaces)), frag)
        let fileBlock = physical + 3
        let backups = try must(["bash", "-c", "dumpe2fs \(vol) 2>/dev/null | sed -n 's/.*Backup superblock at \\([0-9]*\\),.*/\\1/p' | head -n1"]).stdout
        let metadataBlock = try XCTUnwrap(UInt64(backups.trimmingCharacters(in: .whitespacesAndNewlines)), "no backup superblock in dumpe2fs")
        let ffb = try must(["debugfs", "-R", "ffb 1 100000", vol]).stdout
        let freeBlock = try XCTUnwrap(ffb.split(whereSeparator: { $0 == " " || $0 == "\n" }).last.flatMap { UInt64($0) }, ffb)

        // Where the volume starts on the raw namespace (cryptsetup's view of the header).
        let meta = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try must([cryptsetup, "luksDump", "--dump-json-metadata", ns.path]).stdout.utf8)) as? [String: Any])
        let segment = try XCTUnwrap((meta["segments"] as? [String: Any])?["0"] as? [String: Any])
        let dataOffset = try XCTUnwrap(UInt64(segment["offset"] as? String ?? ""))
        let first = dataOffset / 4096
        for b in [fileBlock, metadataBlock, freeBlock] { try tamper(ns.path, block: first + b) }
        try must(["bash", "-c", "echo 3 > /proc/sys/vm/drop_caches"])
        for b in [fileBlock, metadataBlock, freeBlock] { XCTAssertFalse(try readsBack(vol, block: b), "block \(b) still reads") }

        let (r, report) = try scrub(["sc-vol"])
        XCTAssertEqual(r.status, 6, r.stderr)
        XCTAssertEqual(report["damaged_blocks"] as? Int, 3, r.stdout)
        XCTAssertEqual(report["completed"] as? Bool, true)
        XCTAssertEqual(report["filesystem"] as? String, "ext4")
        let ranges = try XCTUnwrap(report["ranges"] as? [[String: Any]])
        func range(_ block: UInt64) -> [String: Any]? { ranges.first { ($0["block"] as? Int).map(UInt64.init) == block } }
        XCTAssertEqual(range(fileBlock)?["owner"] as? String, "file", r.stdout)
        XCTAssertEqual(range(fileBlock)?["path"] as? String, "\(mnt)/damaged.bin")
        XCTAssertEqual(range(fileBlock)?["cause"] as? String, "authentication")
        XCTAssertEqual((range(fileBlock)?["raw_block"] as? Int).map(UInt64.init), first + fileBlock)
        XCTAssertEqual(range(metadataBlock)?["owner"] as? String, "filesystem metadata", r.stdout)
        XCTAssertEqual(range(freeBlock)?["owner"] as? String, "free space", r.stdout)
        // The intact file reads; the damaged one fails (at the block found).
        XCTAssertEqual(try execute(["cat", "\(mnt)/intact.bin"]).status, 0)
        XCTAssertNotEqual(try execute(["cat", "\(mnt)/damaged.bin"]).status, 0)
        let human = try execute([VM.swcrypt, "scrub", "sc-vol"])
        XCTAssertEqual(human.status, 6)
        XCTAssertTrue(human.stdout.contains("damaged: 3 blocks"), human.stdout)
        XCTAssertTrue(human.stdout.contains("file \(mnt)/damaged.bin"), human.stdout)

        // --rewrite-free: the free block reads again; the file's and the metadata block are left alone.
        let (fix, fixed) = try scrub(["sc-vol", "--rewrite-free"])
        XCTAssertEqual(fix.status, 6, fix.stderr)
        let fixedRanges = try XCTUnwrap(fixed["ranges"] as? [[String: Any]])
        XCTAssertEqual(fixedRanges.first { $0["owner"] as? String == "free space" }?["rewritten"] as? Bool, true, fix.stdout)
        XCTAssertEqual(fixedRanges.filter { $0["rewritten"] as? Bool == true }.count, 1, fix.stdout)
        XCTAssertTrue(try readsBack(vol, block: freeBlock))
        XCTAssertFalse(try readsBack(vol, block: fileBlock))
        XCTAssertFalse(try readsBack(vol, block: metadataBlock))
        let (again, after) = try scrub(["sc-vol"])
        XCTAssertEqual(again.status, 6)
        XCTAssertEqual(after["damaged_blocks"] as? Int, 2, again.stdout)
        // The filesystem still checks as e2fsck sees it after the unmount (only the file's data is bad).
        try must(["umount", mnt])
        let fsck = try execute(["e2fsck", "-fn", vol])
        XCTAssertEqual(fsck.status, 0, fsck.stdout + fsck.stderr)
    }

    /// An interrupted scrub leaves a checkpoint by the volume's UUID; the next one
    /// goes on from it and removes it when done. Addressed by the raw device here.
    func testInterruptedScrubResumes() throws {
        let nb = try NullBlk.create("sc-res", sizeMB: 96)
        defer { nb.remove(); _ = try? execute([VM.swcrypt, "close", "sc-res-vol"]) }
        try openNoJournalVolume(on: nb, as: "sc-res-vol")
        let uuid = try must([cryptsetup, "luksUUID", nb.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let checkpoint = "/var/lib/swcrypt/scrub/\(uuid.uppercased()).json"
        let checkpointLower = "/var/lib/swcrypt/scrub/\(uuid).json"
        // The interrupt goes once the scrub has read 4 MiB of the volume (its read_bytes),
        // not after a fixed time: a background job of a non-interactive shell starts
        // with SIGINT ignored until swcrypt installs its handler, and a starved guest
        // (the clean-clone run beside other VMs) could still be starting after 4 s.
        let r = try sh("""
            \(VM.swcrypt) scrub \(nb.path) --rate 8 --json > \(dir)/first.json 2>\(dir)/first.err & p=$!
            for i in $(seq 600); do
                kill -0 $p 2>/dev/null || break
                (( $(awk '/^read_bytes/ { print $2 }' /proc/$p/io 2>/dev/null || echo 0) >= 4194304 )) && break
                sleep 0.2
            done
            sleep 1; kill -INT $p; wait $p; echo status=$?
            """)
        XCTAssertTrue(r.stdout.contains("status=1"), r.stdout + ((try? String(contentsOfFile: "\(dir)/first.err", encoding: .utf8)) ?? ""))
        let first = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/first.json"))) as? [String: Any])
        XCTAssertEqual(first["completed"] as? Bool, false)
        let stoppedAt = try XCTUnwrap(first["position"] as? Int)
        XCTAssertGreaterThan(stoppedAt, 0)
        XCTAssertLessThan(stoppedAt, 96 << 20)
        let saved = [checkpoint, checkpointLower].first { FileManager.default.fileExists(atPath: $0) }
        XCTAssertNotNil(saved, "no checkpoint under /var/lib/swcrypt/scrub")

        let (second, report) = try scrub(["sc-res-vol"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(report["resumed_at"] as? Int, stoppedAt)
        XCTAssertEqual(report["completed"] as? Bool, true)
        XCTAssertEqual(report["damaged_blocks"] as? Int, 0)
        XCTAssertEqual(report["tags"] as? String, "dm-integrity-no-journal")
        XCTAssertFalse(FileManager.default.fileExists(atPath: saved ?? checkpoint), "the checkpoint stayed after a complete scrub")
        let human = try execute([VM.swcrypt, "scrub", "sc-res-vol"])
        XCTAssertEqual(human.status, 0)
        XCTAssertTrue(human.stdout.contains("no damaged block: every 4096-byte block read and authenticated"), human.stdout)
    }

    /// `--rate` is a ceiling: a scrub stopped for 8 s (SIGSTOP, as a busy disk or a
    /// suspend would hold it) does not read the 64 MiB it "owes" at device speed when
    /// it goes on; the 2 s after SIGCONT read about 2 s at the rate (its read_bytes).
    func testRateIsACeilingAfterAStall() throws {
        let nb = try NullBlk.create("sc-rate", sizeMB: 128)
        defer { nb.remove(); _ = try? execute([VM.swcrypt, "close", "sc-rate-vol"]) }
        try openNoJournalVolume(on: nb, as: "sc-rate-vol")
        let r = try sh("""
            # read_bytes with bash's own read (no fork: a starved guest would stretch the 2 s)
            io() { local k v; n=0; while read -r k v; do [[ $k == read_bytes: ]] && n=$v; done < /proc/$p/io; }
            \(VM.swcrypt) scrub sc-rate-vol --rate 8 --restart --json > \(dir)/rate.json 2>\(dir)/rate.err & p=$!
            for i in $(seq 600); do kill -0 $p 2>/dev/null || break; io; (( n >= 4194304 )) && break; sleep 0.2; done
            kill -STOP $p; sleep 8; io; before=$n; t0=${EPOCHREALTIME/./}; kill -CONT $p
            sleep 2; io; after=$n; t1=${EPOCHREALTIME/./}
            kill -INT $p; wait $p; echo "status=$? before=$before after=$after micros=$((t1 - t0))"
            """)
        let fields = Dictionary(uniqueKeysWithValues: r.stdout.split(whereSeparator: \.isWhitespace).compactMap { w -> (String, Int)? in
            let kv = w.split(separator: "=", maxSplits: 1)
            return kv.count == 2 ? (String(kv[0]), Int(kv[1]) ?? -1) : nil
        })
        let err = (try? String(contentsOfFile: "\(dir)/rate.err", encoding: .utf8)) ?? ""
        XCTAssertEqual(fields["status"], 1, "the scrub was to be interrupted, not finished: " + r.stdout + err)
        let before = try XCTUnwrap(fields["before"]), after = try XCTUnwrap(fields["after"])
        XCTAssertGreaterThanOrEqual(before, 4 << 20, r.stdout)
        XCTAssertGreaterThan(after, before, "the scrub read nothing after SIGCONT: " + r.stdout)
        // The time since SIGCONT at 8 MiB/s, plus the quarter second of lag carried over, the
        // read in hand and one in flight (2 MiB each); an average from the start would owe 64 MiB.
        let seconds = Double(try XCTUnwrap(fields["micros"])) / 1e6
        let ceiling = Int(seconds * 8 * 1_048_576) + 6 << 20
        XCTAssertLessThanOrEqual(after - before, ceiling, "read \(after - before) bytes in the \(seconds) s after an 8 s stop at --rate 8: " + r.stdout)
    }

    /// A dm-integrity no-journal volume formatted on `nb` and opened as `name`.
    private func openNoJournalVolume(on nb: NullBlk, as name: String) throws {
        let f = try execute([VM.swcrypt, "format", nb.path, "--key-file", try key(), "--yes", "--no-verify", "--integrity-mode", "no-journal"] + fastPBKDF)
        XCTAssertEqual(f.status, 0, f.stderr)
        try must([VM.swcrypt, "open", nb.path, name, "--key-file", try key()])
    }
}
