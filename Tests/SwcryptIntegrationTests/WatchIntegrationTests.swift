import Foundation
import XCTest

/// `swcrypt watch` (issue 16, part 2) against the kernel: blocks altered on the
/// raw device beneath an open volume, read through the mapping; the kernel's own
/// lines (dmesg) are the witness for what watch must report, each failing read
/// once, attributed to the right volume, counted persistently (status, the
/// Prometheus textfile) and never twice across a restart.
final class WatchIntegrationTests: LUKSTestCase {
    let state = "/var/lib/swcrypt/watch"

    override func tearDown() {
        // A watch left by a failed assertion would outlive the test.
        _ = try? execute(["pkill", "-KILL", "-f", "^\(VM.swcrypt) watch "])
        super.tearDown()
    }

    func key() throws -> String {
        let path = "\(dir)/pass"
        try Data("watch passphrase".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Starts `swcrypt watch` in the background; returns once it has said what it
    /// watches. Started directly, not from a shell whose output is read (it would
    /// inherit that pipe and the read would never end).
    func startWatch(_ tag: String) throws -> Process {
        FileManager.default.createFile(atPath: "\(dir)/\(tag).jsonl", contents: nil)
        FileManager.default.createFile(atPath: "\(dir)/\(tag).err", contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: VM.swcrypt)
        p.arguments = ["watch", "--textfile", "\(dir)/prom/swcrypt.prom"]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/\(tag).jsonl"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/\(tag).err"))
        try p.run()
        for _ in 0..<300 {
            if (try? String(contentsOfFile: "\(dir)/\(tag).err", encoding: .utf8))?.contains("swcrypt watch:") == true { return p }
            if !p.isRunning { break }
            usleep(100_000)
        }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        throw TestFailure("swcrypt watch did not start: \((try? String(contentsOfFile: "\(dir)/\(tag).err", encoding: .utf8)) ?? "")")
    }

    /// SIGTERM; the exit status.
    func stopWatch(_ p: Process) throws -> Int32 {
        p.terminate()
        for _ in 0..<100 where p.isRunning { usleep(100_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            throw TestFailure("swcrypt watch did not stop within 10 s of SIGTERM")
        }
        return p.terminationStatus
    }

    func events(_ tag: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: "\(dir)/\(tag).jsonl", encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
        }
    }

    /// Waits until watch has reported `count` events (it reads the log as the kernel writes it).
    func waitForEvents(_ tag: String, count: Int) throws -> [[String: Any]] {
        for _ in 0..<200 {
            let e = try events(tag)
            if e.count >= count { usleep(1_500_000); return try events(tag) }
            usleep(100_000)
        }
        return try events(tag)
    }

    /// The kernel's AEAD lines for `devices` (with their timestamps, so each is unique).
    func kernelLines(devices: [String]) throws -> Set<String> {
        Set(try dmesgLines().filter { line in
            line.contains("INTEGRITY AEAD ERROR, sector ") && devices.contains(where: { line.contains("crypt: \($0):") })
        })
    }

    /// The sectors of the AEAD lines logged since `before` was taken, in the order logged.
    func kernelSectors(devices: [String], since before: Set<String>) throws -> [Int] {
        try dmesgLines().filter { line in
            !before.contains(line) && line.contains("INTEGRITY AEAD ERROR, sector ") && devices.contains(where: { line.contains("crypt: \($0):") })
        }.compactMap { Int($0.split(separator: " ").last ?? "") }
    }

    func testInlineVolumeEachFailingReadOnceAcrossARestart() throws {
        let ns = try KernelNamespace.byNSID(1)
        XCTAssertEqual(ns.metadataBytes, 64)
        try VM.wipeSignatures(ns.path)
        _ = try sh("rm -rf \(state)")
        defer { _ = try? execute([VM.swcrypt, "close", "wa-vol"]) }
        let f = try execute([VM.swcrypt, "format", ns.path, "--key-file", try key(), "--yes", "--no-verify"] + fastPBKDF)
        XCTAssertEqual(f.status, 0, f.stderr)
        try must([VM.swcrypt, "open", ns.path, "wa-vol", "--key-file", try key()])
        try must(["udevadm", "settle"])
        let vol = "/dev/mapper/wa-vol"
        let uuid = try must([cryptsetup, "luksUUID", ns.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try must(["dd", "if=/dev/urandom", "of=\(vol)", "bs=4096", "count=32", "oflag=direct", "status=none"])
        let meta = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try must([cryptsetup, "luksDump", "--dump-json-metadata", ns.path]).stdout.utf8)) as? [String: Any])
        let segment = try XCTUnwrap((meta["segments"] as? [String: Any])?["0"] as? [String: Any])
        let first = try XCTUnwrap(UInt64(segment["offset"] as? String ?? "")) / 4096

        let watch = try startWatch("first")
        // The names the kernel can log for it: the head and its multipath paths
        // ("nvme0n2", "nvme0c0n2"), whatever the scan order made of them.
        let index = String(ns.name.split(separator: "n").last ?? "")
        let paths = try FileManager.default.contentsOfDirectory(atPath: "/sys/block").filter {
            $0.hasPrefix("nvme") && $0.hasSuffix("n\(index)") && $0.contains("c") && $0 != ns.name
        }
        let inlineDevices = [ns.name] + paths
        let before = try kernelLines(devices: inlineDevices)
        for b in [UInt64(3), 9] {
            try must(["dd", "if=/dev/urandom", "of=\(ns.path)", "bs=4096", "seek=\(first + b)", "count=1", "oflag=direct", "conv=notrunc", "status=none"])
        }
        try must(["bash", "-c", "echo 3 > /proc/sys/vm/drop_caches"])
        // Buffered reads: readahead fails, the page cache retries the page alone,
        // and the kernel logs the same sector again. One failing read, one event.
        for b in [3, 9] {
            XCTAssertNotEqual(try execute(["timeout", "120", "dd", "if=\(vol)", "of=/dev/null", "bs=4096", "skip=\(b)", "count=1", "status=none"]).status, 0)
        }
        let got = try waitForEvents("first", count: 2)
        let logged = try kernelSectors(devices: inlineDevices, since: before)
        XCTAssertEqual(Set(logged), [24, 72], "the kernel's own lines")
        print("kernel lines for the two failing reads: sectors \(logged)")
        XCTAssertEqual(got.count, 2, "\(got)\nkernel logged \(logged)")
        XCTAssertEqual(Set(got.compactMap { $0["sector"] as? Int }), [24, 72], "\(got)")
        for e in got {
            XCTAssertEqual(e["volume"] as? String, vol)
            XCTAssertEqual(e["uuid"] as? String, uuid)
            XCTAssertEqual(e["device"] as? String, ns.path)
            XCTAssertEqual(e["kind"] as? String, "dm-crypt")
        }
        XCTAssertEqual(try stopWatch(watch), 0, (try? String(contentsOfFile: "\(dir)/first.err", encoding: .utf8)) ?? "")
        let prom = try String(contentsOfFile: "\(dir)/prom/swcrypt.prom", encoding: .utf8)
        XCTAssertTrue(prom.contains("swcrypt_read_failures_total{volume=\"wa-vol\",uuid=\"\(uuid)\",kind=\"dm-crypt\"} 2"), prom)
        XCTAssertTrue(prom.contains("swcrypt_volume_open{volume=\"wa-vol\",uuid=\"\(uuid)\"} 1"), prom)

        // A restart reads the ring buffer from its start: the lines already counted
        // are skipped; a new failing read of a damaged block is counted.
        let again = try startWatch("second")
        usleep(2_000_000)
        XCTAssertEqual(try events("second").count, 0, "counted twice after a restart")
        XCTAssertFalse(try execute(["dd", "if=\(vol)", "of=/dev/null", "bs=4096", "skip=9", "count=1", "iflag=direct", "status=none"]).status == 0)
        let more = try waitForEvents("second", count: 1)
        XCTAssertEqual(more.count, 1, "\(more)")
        XCTAssertEqual(more.first?["sector"] as? Int, 72)
        XCTAssertEqual(try stopWatch(again), 0)

        let status = try must([VM.swcrypt, "status", "wa-vol", "--json"])
        let s = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let recorded = try XCTUnwrap(s["recorded_failures"] as? [String: Any], status.stdout)
        XCTAssertEqual(recorded["total"] as? Int, 3, status.stdout)
        XCTAssertEqual(recorded["last_sector"] as? Int, 72)
        let human = try must([VM.swcrypt, "status", "wa-vol"]).stdout
        XCTAssertTrue(human.contains("recorded by swcrypt watch: 3 failed reads since"), human)
        let promAfter = try String(contentsOfFile: "\(dir)/prom/swcrypt.prom", encoding: .utf8)
        XCTAssertTrue(promAfter.contains("kind=\"dm-crypt\"} 3"), promAfter)
    }

    /// The dm-integrity layout: dm-crypt reads through its integrity layer, and the
    /// kernel names that layer (dm-N) in its lines; watch still finds the volume.
    func testDmIntegrityVolume() throws {
        let nb = try NullBlk.create("wa-int", sizeMB: 64)
        _ = try sh("rm -rf \(state)")
        defer { _ = try? execute([VM.swcrypt, "close", "wa-int-vol"]); nb.remove() }
        let f = try execute([VM.swcrypt, "format", nb.path, "--key-file", try key(), "--yes", "--no-verify", "--integrity-mode", "no-journal"] + fastPBKDF)
        XCTAssertEqual(f.status, 0, f.stderr)
        try must([VM.swcrypt, "open", nb.path, "wa-int-vol", "--key-file", try key()])
        let vol = "/dev/mapper/wa-int-vol"
        let uuid = try must([cryptsetup, "luksUUID", nb.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let dif = try must(["bash", "-c", "basename $(readlink -f /dev/mapper/wa-int-vol_dif)"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Every block written, so that whatever the damage hits is data or its tags;
        // udev's probes of the new mapping done before anything is altered.
        try must(["udevadm", "settle"])
        _ = try execute(["dd", "if=/dev/urandom", "of=\(vol)", "bs=1M", "oflag=direct", "status=none"])
        try must(["udevadm", "settle"])

        let watch = try startWatch("int")
        let before = try kernelLines(devices: [dif])
        // 4 KiB of garbage every 8 MiB of the raw device (after the header) hits data
        // or tags of a few blocks; dm-integrity interleaves them.
        for mib in stride(from: 16, to: 64, by: 8) {
            try must(["dd", "if=/dev/urandom", "of=\(nb.path)", "bs=4096", "seek=\(mib * 256 + 3)", "count=1", "oflag=direct", "conv=notrunc", "status=none"])
        }
        // Direct reads of the whole volume, on past each failing block (4 KiB reads:
        // conv=noerror skips a whole read buffer at each error).
        _ = try execute(["timeout", "300", "dd", "if=\(vol)", "of=/dev/null", "bs=4096", "iflag=direct", "conv=noerror", "status=none"])
        let logged = try kernelSectors(devices: [dif], since: before)
        XCTAssertGreaterThanOrEqual(logged.count, 3, "the altered blocks: the kernel logged \(logged) for \(dif)")
        let got = try waitForEvents("int", count: Set(logged).count)
        XCTAssertEqual(try stopWatch(watch), 0)
        XCTAssertEqual(Set(got.compactMap { $0["sector"] as? Int }), Set(logged), "\(got)")
        XCTAssertEqual(got.count, Set(logged).count, "one event per failing sector: \(got)")
        for e in got {
            XCTAssertEqual(e["volume"] as? String, vol)
            XCTAssertEqual(e["uuid"] as? String, uuid)
            XCTAssertEqual(e["kernel_device"] as? String, dif)
        }
    }
}
