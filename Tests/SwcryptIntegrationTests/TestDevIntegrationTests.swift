import Foundation
import XCTest

/// `swcrypt testdev` against the real kernel: each kind as the kernel shows it,
/// data round-trips with O_DIRECT, listing, removal, and every refusal.
final class TestDevIntegrationTests: XCTestCase {
    override func setUpWithError() throws { try VM.require() }

    struct Created {
        var json: [String: Any]
        var device: String { json["device"] as? String ?? "?" }
        var name: String { URL(fileURLWithPath: device).lastPathComponent }
        var sys: String { "/sys/block/\(name)" }
    }

    func create(_ kind: String, blockSize: Int, sizeMiB: Int = 32, line: UInt = #line) throws -> Created {
        let r = try swcrypt("testdev", "create", kind, "--size", "\(sizeMiB)", "--block-size", "\(blockSize)", "--json")
        XCTAssertEqual(r.status, 0, "create \(kind): \(r.stderr)", line: line)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout, line: line)
        return Created(json: json)
    }

    func listed() throws -> [String] {
        let r = try swcrypt("testdev", "ls", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return (json["devices"] as? [[String: Any]] ?? []).compactMap { $0["device"] as? String }
    }

    /// Writes 1 MiB of random data with O_DIRECT and reads it back with O_DIRECT.
    func roundTrip(_ device: String, line: UInt = #line) throws {
        let dir = try VM.tempDir()
        try must(["bash", "-c", "head -c 1048576 /dev/urandom > \(dir)/data"])
        try must(["dd", "if=\(dir)/data", "of=\(device)", "bs=64k", "oflag=direct", "status=none"])
        try must(["dd", "if=\(device)", "of=\(dir)/back", "bs=64k", "count=16", "iflag=direct", "status=none"])
        let sums = try must(["sha256sum", "\(dir)/data", "\(dir)/back"]).lines.map { $0.prefix(64) }
        XCTAssertEqual(sums[0], sums[1], "\(device): data read back differs", line: line)
    }

    func check(_ d: Created, kind: String, blockSize: Int, sizeMiB: Int, integrity: String, line: UInt = #line) throws {
        XCTAssertEqual(d.json["kind"] as? String, kind, line: line)
        XCTAssertEqual(sysfs("\(d.sys)/queue/logical_block_size"), "\(blockSize)", line: line)
        XCTAssertEqual(d.json["logical_block_size"] as? Int, blockSize, line: line)
        XCTAssertEqual(sysfs("\(d.sys)/size"), "\(sizeMiB * 2048)", line: line)
        XCTAssertEqual((d.json["size_bytes"] as? NSNumber)?.intValue, sizeMiB << 20, line: line)
        XCTAssertEqual(sysfs("\(d.sys)/integrity/format") ?? "none", integrity, line: line)
        XCTAssertEqual(d.json["integrity_format"] as? String, integrity, line: line)
        XCTAssertTrue(FileManager.default.fileExists(atPath: d.device), "\(d.device) has no node", line: line)
        try roundTrip(d.device, line: line)
        XCTAssertTrue(try listed().contains(d.device), "ls does not list \(d.device)", line: line)
    }

    func remove(_ d: Created, line: UInt = #line) throws {
        let r = try swcrypt("testdev", "remove", d.device)
        XCTAssertEqual(r.status, 0, "remove \(d.device): \(r.stderr)", line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.sys), "\(d.sys) still exists", line: line)
        XCTAssertFalse(try listed().contains(d.device), "ls still lists \(d.device)", line: line)
    }

    func testNullBlk() throws {
        for bs in [4096, 512] {
            let d = try create("null-blk", blockSize: bs)
            XCTAssertTrue(d.name.hasPrefix("swcrypt-nb"), d.device)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "/sys/kernel/config/nullb/\(d.name)"))
            try check(d, kind: "null-blk", blockSize: bs, sizeMiB: 32, integrity: "none")
            try remove(d)
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/sys/kernel/config/nullb/\(d.name)"))
        }
    }

    func testLoop() throws {
        for bs in [4096, 512] {
            let d = try create("loop", blockSize: bs, sizeMiB: 16)
            let backing = try XCTUnwrap(d.json["backing_file"] as? String)
            XCTAssertTrue(backing.hasPrefix("/run/swcrypt/testdev/"), backing)
            XCTAssertEqual(sysfs("\(d.sys)/loop/backing_file"), backing)
            XCTAssertEqual(d.json["direct_io"] as? Bool, sysfs("\(d.sys)/loop/dio") == "1")
            // The witness: losetup reports the same file and direct I/O.
            let lo = try must(["losetup", "--list", "--noheadings", "--output", "BACK-FILE,DIO,LOG-SEC", d.device]).stdout
            XCTAssertTrue(lo.contains(backing) && lo.contains("\(bs)"), lo)
            try check(d, kind: "loop", blockSize: bs, sizeMiB: 16, integrity: "none")
            try remove(d)
            XCTAssertFalse(FileManager.default.fileExists(atPath: backing), "backing file left behind")
        }
    }

    func testScsiDebugWithDIF() throws {
        guard (try execute(["modinfo", "scsi_debug"])).status == 0 else {
            throw XCTSkip(VM.kernelKind == "inline"
                ? "skipped, because on the inline-encryption kernel scsi_debug is built in, so its DIF parameters are fixed at boot (Scripts/vm passes scsi_debug.add_host=0)"
                : "skipped, because this kernel has no scsi_debug module")
        }
        let d = try create("scsi-debug", blockSize: 4096, sizeMiB: 32)
        defer { _ = try? swcrypt("testdev", "remove", d.device) }
        try check(d, kind: "scsi-debug", blockSize: 4096, sizeMiB: 32, integrity: "T10-DIF-TYPE1-CRC")
        // One at a time: scsi_debug makes its disks per module load.
        let again = try swcrypt("testdev", "create", "scsi-debug")
        XCTAssertEqual(again.status, 5, again.stderr)
        XCTAssertTrue(again.stderr.contains(d.device), again.stderr)
        try remove(d)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/sys/module/scsi_debug"), "scsi_debug still loaded")
    }

    /// Devices swcrypt did not create: exit 4, one line naming the device, untouched.
    func testRefusesForeignDevices() throws {
        let ns = try KernelNamespace.byNSID(2)
        var r = try swcrypt("testdev", "remove", ns.path)
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(ns.path) && r.stderr.contains("not a swcrypt test device"), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: ns.sys))

        let dir = try VM.tempDir()
        try must(["truncate", "-s", "16M", "\(dir)/foreign.img"])
        try VM.loadModules("loop")
        let loop = try must(["losetup", "--find", "--show", "\(dir)/foreign.img"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? execute(["losetup", "-d", loop]) }
        r = try swcrypt("testdev", "remove", loop)
        XCTAssertEqual(r.status, 4, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(loop) && r.stderr.contains("loop device"), r.stderr)
        XCTAssertFalse(try listed().contains(loop))
        let name = URL(fileURLWithPath: loop).lastPathComponent
        XCTAssertEqual(sysfs("/sys/block/\(name)/loop/backing_file"), "\(dir)/foreign.img")

        r = try swcrypt("testdev", "remove", "/dev/does-not-exist")
        XCTAssertEqual(r.status, 4, r.stderr)
    }

    /// A mounted test device: exit 5 naming the mount point; removable after umount.
    func testRefusesMountedDevice() throws {
        let d = try create("null-blk", blockSize: 4096)
        defer { _ = try? swcrypt("testdev", "remove", d.device) }
        let mnt = try VM.tempDir()
        try must(["mkfs.ext4", "-q", "-F", d.device])
        try must(["mount", d.device, mnt])
        let r = try swcrypt("testdev", "remove", d.device)
        try must(["umount", mnt])
        XCTAssertEqual(r.status, 5, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains(d.device) && r.stderr.contains(mnt), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: d.sys))
        try remove(d)
    }

    func testNonRootRefused() throws {
        let r = try execute(VM.asNobody(["testdev", "create", "null-blk"]))
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("root"), r.stderr)
    }

    func testBadParameters() throws {
        let r = try swcrypt("testdev", "create", "null-blk", "--block-size", "1024")
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("1024"), r.stderr)
    }
}
