import Foundation
import XCTest

/// Faults beneath a swcrypt stack (dm-flakey, dm-error), failures injected at
/// every step of map and format (SWCRYPT_INJECT_FAULT).
/// Each test prints its counts on a line starting "reliability:".
final class FaultIntegrationTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        try VM.require()
        try VM.loadModules("dm-crypt", "dm-integrity", "dm-flakey", "aegis128", "gcm", "authenc")
        dir = try VM.tempDir()
    }

    override func tearDownWithError() throws {
        for name in (try? dmNames()) ?? [] where name.hasPrefix("ft-") {
            _ = try? execute([VM.swcrypt, "unmap", name])
            _ = try? execute([VM.swcrypt, "close", name])
        }
        _ = try? sh("dmsetup remove ft-under 2>/dev/null; rm -rf \(dir)")
    }

    /// `timeout 60 CMD`: a hang shows as exit 124.
    private func bounded(_ cmd: String) throws -> Result { try sh("timeout 60 \(cmd)") }

    /// Runs CMD bounded in time; it must fail (an I/O error), not hang or succeed.
    private func expectIOError(_ cmd: String, _ what: String) throws -> Bool {
        let r = try bounded(cmd)
        XCTAssertNotEqual(r.status, 124, "\(what) hung")
        XCTAssertNotEqual(r.status, 0, "\(what) reported success")
        return r.status != 0 && r.status != 124
    }

    private func swapUnder(_ table: String) throws {
        try must(["dmsetup", "suspend", "--nolockfs", "--noflush", "ft-under"])
        try must(["dmsetup", "load", "ft-under", "--table", table])
        try must(["dmsetup", "resume", "ft-under"])
    }

    /// dm-crypt over dm-integrity (journal) over a device that starts failing:
    /// write errors (dm-flakey error_writes), then every I/O failing (dm-error).
    /// Errors reach the caller, nothing hangs, and the stack still comes down.
    func testFaultsBeneathAStack() throws {
        let nb = try NullBlk.create("ft-nullb", sizeMB: 64)
        defer { nb.remove() }
        let sectors = try must(["blockdev", "--getsz", nb.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let up = "0 \(sectors) flakey \(nb.path) 0 3600 0"
        try must(["dmsetup", "create", "ft-under", "--table", up])
        let r = try swcrypt("map", "crypt", "ft-stack", "/dev/mapper/ft-under", "--cipher", "aes-gcm-random",
                            "--emulate-metadata", "journal", "--random-key")
        XCTAssertEqual(r.status, 0, r.stderr)
        let m = "/dev/mapper/ft-stack"
        try must(["bash", "-c", "head -c 4194304 /dev/urandom > \(dir)/old"])
        XCTAssertEqual(try bounded("dd if=\(dir)/old of=\(m) bs=1M oflag=direct conv=fsync status=none").status, 0)
        var faults = 0, surfaced = 0

        // 1. Writes fail: the write reports an error. Reading the old data then
        //    gives it back exactly, or fails (dm-integrity stops all I/O after a
        //    journal write error); never different bytes.
        try swapUnder("0 \(sectors) flakey \(nb.path) 0 0 3600 1 error_writes")
        faults += 1
        if try expectIOError("head -c 1048576 /dev/urandom | dd of=\(m) bs=1M seek=8 oflag=direct conv=fsync status=none", "a write to a failing device") { surfaced += 1 }
        let back = try bounded("dd if=\(m) of=\(dir)/back bs=1M count=4 iflag=direct status=none")
        XCTAssertNotEqual(back.status, 124, "a read after the write fault hung")
        if back.status == 0 {
            XCTAssertEqual(try sh("cmp \(dir)/back \(dir)/old").status, 0, "the read after a write fault returned different data")
        }

        // 2. Every I/O fails (dm-error): reads and writes return errors, quickly.
        try swapUnder("0 \(sectors) error")
        faults += 2
        if try expectIOError("dd if=\(m) of=/dev/null bs=4096 count=1 skip=2000 iflag=direct status=none", "a read from a failing device") { surfaced += 1 }
        if try expectIOError("dd if=/dev/zero of=\(m) bs=4096 count=1 seek=3000 oflag=direct conv=fsync status=none", "a write to a failing device") { surfaced += 1 }

        // 3. The device comes back; the stack is closed and nothing of it stays.
        try swapUnder(up)
        let close = try bounded("\(VM.swcrypt) unmap ft-stack")
        XCTAssertEqual(close.status, 0, close.stderr)
        XCTAssertTrue(try dmNames().filter { $0.hasPrefix("ft-stack") }.isEmpty)
        try must(["dmsetup", "remove", "ft-under"])
        print("reliability: faults: \(faults) injected beneath dm-crypt over dm-integrity (flakey error_writes, dm-error reads and writes); \(surfaced) surfaced as I/O errors to the caller; 0 hangs; the stack closed")
    }

    /// A failure injected before each layer of a two-layer map and at each step
    /// of format leaves no mapping and no key; format's header says uninitialised.
    func testInjectedFailuresLeaveNothing() throws {
        let nb = try NullBlk.create("ft-nullinj", sizeMB: 64)
        defer { nb.remove() }
        let plain = try KernelNamespace.byNSID(2).path
        try "inject-\(UUID().uuidString)".write(toFile: "\(dir)/pass", atomically: true, encoding: .utf8)
        let fast = ["--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32"]
        let steps: [(point: String, args: [String], device: String)] = [
            ("map.create.0", ["map", "crypt", "ft-inj", nb.path, "--cipher", "aes-gcm-random", "--emulate-metadata", "journal", "--random-key"], nb.path),
            ("map.create.1", ["map", "crypt", "ft-inj", nb.path, "--cipher", "aes-gcm-random", "--emulate-metadata", "journal", "--random-key"], nb.path),
            ("format.header", ["format", plain, "--key-file", "\(dir)/pass", "--yes"] + fast, plain),
            ("format.activate", ["format", plain, "--key-file", "\(dir)/pass", "--yes"] + fast, plain),
            ("format.wipe", ["format", plain, "--key-file", "\(dir)/pass", "--yes"] + fast, plain),
        ]
        var clean = 0
        for s in steps {
            let mappings = try dmNames()
            let keys = try must(["cat", "/proc/keys"]).lines.filter { $0.contains("swcrypt:") || $0.contains("cryptsetup:") }
            let r = try execute(["env", "SWCRYPT_INJECT_FAULT=\(s.point)", VM.swcrypt] + s.args)
            XCTAssertEqual(r.status, 1, "\(s.point): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("failure injected at step '\(s.point)'"), "\(s.point): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            let after = try dmNames()
            let keysAfter = try must(["cat", "/proc/keys"]).lines.filter { $0.contains("swcrypt:") || $0.contains("cryptsetup:") }
            XCTAssertEqual(after, mappings, "\(s.point) left mappings: \(after.subtracting(mappings))")
            XCTAssertEqual(keysAfter, keys, "\(s.point) left keys")
            if s.point.hasPrefix("format.") {
                let dump = try execute([VM.swcrypt, "dump", plain, "--json"])
                XCTAssertEqual(dump.status, 0, dump.stderr)
                let json = try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any]
                XCTAssertEqual(json?["initialised"] as? Bool, false, "\(s.point): the header does not say uninitialised: \(dump.stdout)")
            }
            if after == mappings && keysAfter == keys && r.status == 1 { clean += 1 }
        }
        // The same runs without injection succeed (the hook is what failed them).
        let ok = try swcrypt("map", "crypt", "ft-inj", nb.path, "--cipher", "aes-gcm-random", "--emulate-metadata", "journal", "--random-key")
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(try swcrypt("unmap", "ft-inj").status, 0)
        print("reliability: rollback: \(steps.count) failures injected (each layer of a two-layer map, header/activate/wipe of format); \(clean) left no mapping and no key")
    }
}
