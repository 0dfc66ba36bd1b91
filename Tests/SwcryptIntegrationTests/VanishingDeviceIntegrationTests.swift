import Foundation
import XCTest

/// Devices that stall or vanish under an open volume (issue 17.4): a suspended
/// device-mapper device beneath it (I/O to it waits until it is resumed, for
/// ever), a null_blk disk powered off beneath it, and an NVMe namespace detached
/// from its controller beneath it. No command may hang: each
/// runs under a 60 s bound and must end by itself with one line naming the
/// cause; `close` removes the volume's mapping.
final class VanishingDeviceIntegrationTests: LUKSTestCase {
    var nullBlk: NullBlk?
    let bound = 60

    override func tearDownWithError() throws {
        _ = try? sh("dmsetup resume vd-lower 2>/dev/null; dmsetup resume vd-lower2 2>/dev/null; true")
        for name in (try? dmNames()) ?? [] where name.hasPrefix("vd-") && name != "vd-lower" { _ = try? execute(["dmsetup", "remove", "--force", name]) }
        for lower in ["vd-lower", "vd-lower2"] { _ = try? execute(["dmsetup", "remove", "--force", lower]) }
        nullBlk?.remove()
        _ = try? sh("rm -rf \(dir)")
    }

    /// Runs swcrypt for at most `bound` seconds. A process waiting on a suspended
    /// device sleeps uninterruptibly (no signal ends it), so when it is still
    /// running then, `unstick` (resume the device) is run to let it finish, and the
    /// result says 124, as timeout(1) would.
    func bounded(_ args: [String], unstick: String? = nil) throws -> Result {
        let out = "\(dir)/bounded.out", err = "\(dir)/bounded.err"
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: VM.swcrypt)
        p.arguments = args
        p.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: err)
        try p.run()
        let deadline = Date().addingTimeInterval(TimeInterval(bound))
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        var hung = false
        if p.isRunning {
            hung = true
            p.terminate()
            if let unstick { _ = try? sh(unstick) }
            p.waitUntilExit()
            if let unstick, unstick.contains("resume") { _ = try? sh(unstick.replacingOccurrences(of: "resume", with: "suspend")) }
        }
        p.waitUntilExit()
        return Result(status: hung ? 124 : p.terminationStatus,
                      stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    func makeVolume(on device: String) throws {
        try must(["bash", "-c", "printf 'vanishing' > \(dir)/key"])
        try must([cryptsetup, "luksFormat", "--type", "luks2", "--batch-mode", "--key-file", "\(dir)/key", "--pbkdf", "pbkdf2",
                  "--pbkdf-force-iterations", "1000", device])
        let open = try swcrypt("open", device, "vd-vol", "--key-file", "\(dir)/key")
        XCTAssertEqual(open.status, 0, open.stderr)
    }

    func testASuspendedDeviceBeneathHangsNothing() throws {
        let nb = try NullBlk.create("vdnull0", sizeMB: 64)
        nullBlk = nb
        let sectors = try must(["blockdev", "--getsz", nb.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try must(["dmsetup", "create", "vd-lower", "--table", "0 \(sectors) linear \(nb.path) 0"])
        try makeVolume(on: "/dev/mapper/vd-lower")
        try must(["dmsetup", "suspend", "vd-lower"])
        XCTAssertEqual(sysfs("/sys/block/\(try dmKernelName("vd-lower"))/dm/suspended"), "1", "the kernel's view: suspended")

        let cases: [(String, [String])] = [
            ("status of the volume", ["status", "vd-vol"]),
            ("dump of the device", ["dump", "/dev/mapper/vd-lower"]),
            ("check of the device", ["check", "/dev/mapper/vd-lower"]),
            ("format of the device", ["format", "/dev/mapper/vd-lower", "--key-file", "\(dir)/key", "--batch-mode"]),
            ("map over the device", ["map", "crypt", "vd-map", "/dev/mapper/vd-lower", "--random-key", "--emulate-metadata", "journal"]),
            ("scrub of the volume", ["scrub", "vd-vol"]),
        ]
        var report = [String]()
        for (what, args) in cases {
            let started = Date()
            let r = try bounded(args, unstick: "dmsetup resume vd-lower")
            let seconds = Date().timeIntervalSince(started)
            report.append("\(what): exit \(r.status) in \(String(format: "%.1f", seconds)) s: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
            XCTAssertNotEqual(r.status, 124, "\(what) hung (killed after \(bound) s)")
            XCTAssertNotEqual(r.status, 0, "\(what) succeeded on a suspended device")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(what): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("suspended") || r.stderr.contains("in use") || r.stderr.contains("held"), "\(what): \(r.stderr)")
        }
        // close: removes the volume's mapping without touching the device below.
        let started = Date()
        let close = try bounded(["close", "vd-vol"], unstick: "dmsetup resume vd-lower")
        report.append("close: exit \(close.status) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: \(close.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        XCTAssertEqual(close.status, 0, close.stderr)
        XCTAssertFalse(try dmNames().contains("vd-vol"), "the volume's mapping is gone")
        print("vanishing: suspended device beneath:\n  " + report.joined(separator: "\n  "))
        try must(["dmsetup", "resume", "vd-lower"])
    }

    func testAPoweredOffDiskBeneathHangsNothing() throws {
        let nb = try NullBlk.create("vdnull1", sizeMB: 64)
        nullBlk = nb
        try makeVolume(on: nb.path)
        // The disk goes away as if pulled: null_blk deletes its gendisk.
        try must(["bash", "-c", "echo 0 > /sys/kernel/config/nullb/vdnull1/power"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/sys/block/vdnull1"), "the kernel's view: the disk is gone")

        try checkCommandsAfterTheDiskWent(nb.path, "powered-off disk beneath")
    }

    /// With the disk beneath the open volume vd-vol gone: status and scrub of the
    /// volume, check and dump of `device`, each bounded, end by themselves with one
    /// line and a non-zero code; close removes the mapping. `unstick` is run if one
    /// of them is still running after the bound.
    func checkCommandsAfterTheDiskWent(_ device: String, _ label: String, unstick: String? = nil) throws {
        var report = [String]()
        for (what, args) in [("status", ["status", "vd-vol"]), ("scrub", ["scrub", "vd-vol"]), ("check", ["check", device]),
                             ("dump", ["dump", device])] {
            let started = Date()
            let r = try bounded(args, unstick: unstick)
            report.append("\(what): exit \(r.status) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
            XCTAssertNotEqual(r.status, 124, "\(what) hung (killed after \(bound) s)")
            XCTAssertNotEqual(r.status, 0, "\(what) succeeded on a vanished disk: \(r.stdout)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(what): \(r.stderr)")
        }
        let close = try bounded(["close", "vd-vol"], unstick: unstick)
        report.append("close: exit \(close.status): \(close.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        XCTAssertEqual(close.status, 0, close.stderr)
        XCTAssertFalse(try dmNames().contains("vd-vol"), "the volume's mapping is gone")
        print("vanishing: \(label):\n  " + report.joined(separator: "\n  "))
    }

    /// An NVMe namespace detached from its controller under an open inline volume,
    /// by the Namespace Attachment command (`nvme detach-ns`: how a namespace is
    /// taken from a host on a real drive; QEMU implements it, and the kernel removes
    /// the namespace's disk on the controller's notice). The commands end as for a
    /// pulled disk. Attached again, the volume opens and what was written before
    /// reads back: data and tags were kept.
    func testADetachedNVMeNamespaceBeneathHangsNothing() throws {
        var ns = try KernelNamespace.byNSID(1)
        guard ns.metadataBytes == 64 else {
            throw XCTSkip("skipped, because namespace 1 has \(ns.metadataBytes) metadata bytes here, not the 64 of an inline volume")
        }
        let controller = try ns.controller()
        let cntlid = try XCTUnwrap(sysfs("/sys/class/nvme/\(controller)/cntlid"), "no cntlid for \(controller)")
        let attach = "nvme attach-ns /dev/\(controller) --namespace-id=1 --controllers=\(cntlid)"
        let waitForDisk = "for i in $(seq 100); do for d in /sys/block/nvme*n*; do [ \"$(cat $d/nsid 2>/dev/null)\" = 1 ] && [ -b /dev/${d##*/} ] && exit 0; done; sleep 0.1; done; exit 1"
        var detached = false
        defer {
            // Later tests need namespace 1: attach it again whatever happened.
            if detached { _ = try? sh("\(attach); \(waitForDisk)") }
        }

        try VM.wipeSignatures(ns.path)
        try must(["bash", "-c", "printf 'vanishing' > \(dir)/key; head -c 1048576 /dev/urandom > \(dir)/data"])
        let fmt = try execute([VM.swcrypt, "format", ns.path, "--key-file", "\(dir)/key", "--batch-mode", "--no-verify"] + fastPBKDF)
        XCTAssertEqual(fmt.status, 0, fmt.stderr)
        try must([VM.swcrypt, "open", ns.path, "vd-vol", "--key-file", "\(dir)/key"])
        try must(["dd", "if=\(dir)/data", "of=/dev/mapper/vd-vol", "bs=1M", "oflag=direct", "status=none"])

        try must(["nvme", "detach-ns", "/dev/\(controller)", "--namespace-id=1", "--controllers=\(cntlid)"])
        detached = true
        let gone = try execute(["bash", "-c", "for i in $(seq 100); do [ -e \(ns.sys) ] || exit 0; sleep 0.1; done; exit 1"])
        XCTAssertEqual(gone.status, 0, "the kernel's view: \(ns.sys) still there 10 s after the detach")
        try checkCommandsAfterTheDiskWent(ns.path, "NVMe namespace detached (nvme detach-ns)", unstick: attach)

        try must(["bash", "-c", "\(attach) && \(waitForDisk)"])
        detached = false
        ns = try KernelNamespace.byNSID(1)
        try must([VM.swcrypt, "open", ns.path, "vd-vol", "--key-file", "\(dir)/key"])
        let back = try execute(["bash", "-c", "dd if=/dev/mapper/vd-vol bs=1M count=1 iflag=direct status=none | cmp - \(dir)/data"])
        XCTAssertEqual(back.status, 0, "the data written before the detach reads back after attaching again: \(back.stdout) \(back.stderr)")
        try must([VM.swcrypt, "close", "vd-vol"])
    }

    /// A volume on the dm-integrity layout over a suspended device: close must not
    /// remove the running NAME_dif (its flush would wait on the suspended device):
    /// it refuses in bounded time, leaves both mappings, and closes once resumed.
    func testADmIntegrityVolumeOverASuspendedDeviceIsNotHalfClosed() throws {
        let nb = try NullBlk.create("vdnull2", sizeMB: 64)
        nullBlk = nb
        let sectors = try must(["blockdev", "--getsz", nb.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try must(["dmsetup", "create", "vd-lower2", "--table", "0 \(sectors) linear \(nb.path) 0"])
        try must(["bash", "-c", "printf 'vanishing' > \(dir)/key"])
        let fmt = try execute([VM.swcrypt, "format", "/dev/mapper/vd-lower2", "--key-file", "\(dir)/key", "--batch-mode", "--no-wipe",
                               "--integrity-mode", "journal"] + fastPBKDF)
        XCTAssertEqual(fmt.status, 0, fmt.stderr)
        let open = try swcrypt("open", "/dev/mapper/vd-lower2", "vd-int", "--key-file", "\(dir)/key")
        XCTAssertEqual(open.status, 0, open.stderr)
        XCTAssertTrue(try dmNames().isSuperset(of: ["vd-int", "vd-int_dif"]), "the volume and its dm-integrity layer")
        try must(["dmsetup", "suspend", "vd-lower2"])
        let started = Date()
        let close = try bounded(["close", "vd-int"], unstick: "dmsetup resume vd-lower2")
        let seconds = Date().timeIntervalSince(started)
        XCTAssertNotEqual(close.status, 124, "close hung")
        XCTAssertEqual(close.status, 5, close.stderr)
        XCTAssertEqual(close.stderr.split(separator: "\n").count, 1, close.stderr)
        XCTAssertTrue(close.stderr.contains("dm-integrity layer vd-int_dif would flush to vd-lower2"), close.stderr)
        XCTAssertTrue(try dmNames().isSuperset(of: ["vd-int", "vd-int_dif"]), "nothing was half removed")
        print("vanishing: dm-integrity volume over a suspended device: close exit \(close.status) in \(String(format: "%.1f", seconds)) s: \(close.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        try must(["dmsetup", "resume", "vd-lower2"])
        let again = try swcrypt("close", "vd-int")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertFalse(try dmNames().contains { $0.hasPrefix("vd-int") }, "closed once resumed")
    }

    func dmKernelName(_ name: String) throws -> String {
        let r = try must(["dmsetup", "info", "-c", "--noheadings", "-o", "blkdevname", name])
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
