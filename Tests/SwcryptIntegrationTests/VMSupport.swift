import Foundation
import XCTest

/// Integration tests act on real kernel devices. They run only inside the test VM
/// (Scripts/vm sets SWCRYPT_VM=1) and as root; anywhere else they skip and say why.
enum VM {
    static func require() throws {
        guard ProcessInfo.processInfo.environment["SWCRYPT_VM"] == "1" else {
            throw XCTSkip("skipped, because this is not the test VM (SWCRYPT_VM unset); run Scripts/test")
        }
        guard geteuid() == 0 else {
            throw XCTSkip("skipped, because integration tests need root inside the VM")
        }
        // Key files as an admin keeps them (mode 0600): swcrypt warns about
        // world-readable ones, which would add a line to every refusal checked.
        umask(0o077)
    }

    static let repo: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var swcrypt: String {
        ProcessInfo.processInfo.environment["SWCRYPT_BIN"] ?? repo + "/.build/debug/swcrypt"
    }

    /// A command line that runs swcrypt as uid/gid 65534 (nobody). The checkout may
    /// not be reachable for that user (a clone under a mode-0700 `mktemp -d`), and
    /// then neither is the binary nor the libcryptsetup beside it in .deps: the
    /// loader would fall back to the system's older library and swcrypt would die
    /// at load instead of saying "needs root". So nobody runs a copy of both in a
    /// world-readable directory of the guest's own /tmp.
    static func asNobody(_ args: [String]) throws -> [String] {
        let dir = "/tmp/swcrypt-nobody"
        let fm = FileManager.default
        if !fm.fileExists(atPath: dir + "/swcrypt") {
            try fm.createDirectory(atPath: dir + "/lib", withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o755])
            try must(["cp", swcrypt, dir + "/swcrypt"])
            let lib = repo + "/.deps/cryptsetup/lib/libcryptsetup.so.12"
            if fm.fileExists(atPath: lib) { try must(["cp", "-L", lib, dir + "/lib/"]) }
            try must(["chmod", "-R", "a+rX", dir])
        }
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "env", "LD_LIBRARY_PATH=\(dir)/lib", dir + "/swcrypt"] + args
    }

    /// Erases every signature libblkid knows from a device (wipefs -a), as a CI job
    /// would before `map` on a disk an earlier job used: `map` refuses to map crypt
    /// or integrity over one without --force.
    static func wipeSignatures(_ path: String) throws {
        try must(["wipefs", "-a", "-q", path])
    }

    /// Loads kernel modules with modprobe. The inline-encryption test kernel has
    /// everything built in and no /lib/modules tree: nothing to load there.
    /// The reference cryptsetup >= 2.8 (Scripts/setup builds it), or a skip saying why.
    static func referenceCryptsetup() throws -> String {
        guard let cs = ProcessInfo.processInfo.environment["SWCRYPT_CRYPTSETUP"], FileManager.default.isExecutableFile(atPath: cs) else {
            throw XCTSkip("skipped, because the reference cryptsetup >= 2.8 is missing (SWCRYPT_CRYPTSETUP unset); run Scripts/setup")
        }
        return cs
    }

    static func loadModules(_ names: String...) throws {
        let release = try must(["uname", "-r"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard FileManager.default.fileExists(atPath: "/lib/modules/\(release)/modules.dep") else { return }
        try must(["modprobe", "-a"] + names)
    }

    /// "inline" when Scripts/vm booted the self-built blk-crypto kernel.
    static var kernelKind: String { ProcessInfo.processInfo.environment["SWCRYPT_KERNEL_KIND"] ?? "stock" }

    /// Scratch space private to the guest (its /tmp is its own).
    static func tempDir() throws -> String {
        let dir = "/tmp/swcrypt-it-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
}

/// A test that cannot start because the bed lacks something set-up should have
/// put there: it fails (with the reason), never skips.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What the LUKS2 test classes share: the reference cryptsetup >= 2.8 (the witness),
/// the modules, a scratch directory, and a PBKDF cheap enough for tests.
class LUKSTestCase: XCTestCase {
    var cryptsetup = ""
    var dir = ""
    /// argon2id at its minimum cost, no benchmark.
    let fastPBKDF = ["--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32"]

    override func setUpWithError() throws {
        try VM.require()
        cryptsetup = try VM.referenceCryptsetup()
        try VM.loadModules("dm-crypt", "dm-integrity", "aegis128", "gcm", "authenc")
        dir = try VM.tempDir()
    }
}

/// Runs a program (absolute path or found on PATH), stdin from /dev/null unless given.
@discardableResult
func execute(_ args: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Result {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = stdin == nil ? FileHandle(forReadingAtPath: "/dev/null") : inp
    try p.run()
    if let stdin {
        inp.fileHandleForWriting.write(Data(stdin.utf8))
        try inp.fileHandleForWriting.close()
    }
    // Read both pipes fully before waiting (no deadlock on large output).
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let errData = errBox.data
    p.waitUntilExit()
    return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                  stderr: String(decoding: errData, as: UTF8.self))
}

@discardableResult
func sh(_ command: String) throws -> Result {
    try execute(["bash", "-c", command])
}

/// A shell function for `sh` scripts: `wait_until_reading ARGS...` waits (up to
/// 120 s) until a process whose command line starts with `swcrypt ARGS` sits in
/// read(2) (syscall 0 on x86_64: at a prompt, or on a FIFO), so a test acts once
/// swcrypt has got that far rather than after a guessed sleep, which a cold start
/// under TCG can outlast.
let shWaitUntilReading = """
    wait_until_reading() {
        local pattern="^\(VM.swcrypt) $*"
        for i in $(seq 1200); do
            for p in $(pgrep -f -- "$pattern"); do
                [ "$(cut -d' ' -f1 /proc/$p/syscall 2>/dev/null)" = 0 ] && return 0
            done
            sleep 0.1
        done
        echo "swcrypt $* never reached a read" >&2; return 1
    }
    """

/// Runs and fails the test on a non-zero status.
@discardableResult
func must(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Result {
    let r = try execute(args)
    XCTAssertEqual(r.status, 0, "\(args.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
    return r
}

func swcrypt(_ args: String...) throws -> Result {
    try execute([VM.swcrypt] + args)
}

/// The kernel's view of an NVMe namespace, by nsid (names follow scan order).
struct KernelNamespace {
    var name: String
    var path: String { "/dev/\(name)" }
    var sys: String { "/sys/block/\(name)" }

    static func byNSID(_ nsid: Int) throws -> KernelNamespace {
        // Heads only (nvme0n1): with native multipath (QEMU >= 8 shares namespaces)
        // /sys/block also has the hidden per-path disks nvme0c0n1, which have no /dev node.
        let names = try FileManager.default.contentsOfDirectory(atPath: "/sys/block").filter {
            $0.range(of: "^nvme[0-9]+n[0-9]+$", options: .regularExpression) != nil
        }
        for name in names.sorted() where sysfs("/sys/block/\(name)/nsid") == "\(nsid)" {
            return KernelNamespace(name: name)
        }
        XCTFail("no NVMe namespace with nsid \(nsid) in /sys/block (\(names))")
        throw XCTSkip("no namespace \(nsid)")
    }

    /// The namespace's controller (nvme<N>): its device, or with native multipath
    /// (the head hangs off nvme-subsys<N>) the first controller of that subsystem.
    func controller() throws -> String {
        let parent = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: sys + "/device")).lastPathComponent
        guard parent.hasPrefix("nvme-subsys") else { return parent }
        return try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: "/sys/class/nvme-subsystem/\(parent)")
            .filter { $0.range(of: "^nvme[0-9]+$", options: .regularExpression) != nil }.sorted().first, "no controller in \(parent)")
    }

    var logicalBlockSize: Int { Int(sysfs("\(sys)/queue/logical_block_size") ?? "") ?? -1 }
    var metadataBytes: Int { Int(sysfs("\(sys)/metadata_bytes") ?? "") ?? -1 }
    var integrityFormat: String { sysfs("\(sys)/integrity/format") ?? "?" }
    var sizeBytes: UInt64 { (UInt64(sysfs("\(sys)/size") ?? "") ?? 0) * 512 }

    /// The "(in use)" index according to nvme-cli, the independent witness.
    func nvmeCLIInUse() throws -> Int? {
        let r = try must(["nvme", "id-ns", path])
        for line in r.lines where line.hasPrefix("lbaf") && line.hasSuffix("(in use)") {
            let fields = line.split(separator: " ")
            return Int(fields[1])
        }
        return nil
    }

    /// SHA-256 of the first `bytes` of the device (read with O_DIRECT off; cache dropped first).
    func checksum(bytes: Int = 1 << 20) throws -> String {
        let r = try must(["bash", "-c", "blockdev --flushbufs \(path); head -c \(bytes) \(path) | sha256sum"])
        return String(r.stdout.prefix(64))
    }
}

func sysfs(_ path: String) -> String? {
    (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A null_blk disk made through configfs for one test (removed by `remove()`).
struct NullBlk {
    var name: String
    var path: String { "/dev/\(name)" }

    static func create(_ name: String, sizeMB: Int = 64, blockSize: Int = 4096) throws -> NullBlk {
        let dir = "/sys/kernel/config/nullb/\(name)"
        try must(["bash", "-c", """
            set -e
            [ -d /sys/module/null_blk ] || modprobe null_blk nr_devices=0
            mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
            mkdir \(dir)
            echo \(blockSize) > \(dir)/blocksize
            echo \(sizeMB) > \(dir)/size
            echo 1 > \(dir)/memory_backed
            echo 1 > \(dir)/power
            for i in $(seq 50); do [ -b /dev/\(name) ] && exit 0; sleep 0.1; done
            echo "no /dev/\(name)" >&2; exit 1
            """])
        return NullBlk(name: name)
    }

    func remove() {
        _ = try? sh("echo 0 > /sys/kernel/config/nullb/\(name)/power; rmdir /sys/kernel/config/nullb/\(name)")
    }
}

/// Mappings in the kernel right now (`dmsetup ls`), as names.
func dmNames() throws -> Set<String> {
    let r = try must(["dmsetup", "ls"])
    if r.stdout.contains("No devices found") { return [] }
    return Set(r.lines.compactMap { $0.split(separator: "\t").first.map(String.init) }.filter { !$0.isEmpty })
}

/// Writes `mib` MiB of random data through `path` with O_DIRECT and reads it back; returns true when identical.
func roundTrip(_ path: String, mib: Int, seekMiB: Int = 0) throws -> Bool {
    let dir = try VM.tempDir()
    defer { _ = try? sh("rm -rf \(dir)") }
    try must(["bash", "-c", "head -c \(mib << 20) /dev/urandom > \(dir)/in"])
    try must(["dd", "if=\(dir)/in", "of=\(path)", "bs=1M", "seek=\(seekMiB)", "oflag=direct", "conv=fsync", "status=none"])
    try must(["dd", "if=\(path)", "of=\(dir)/out", "bs=1M", "skip=\(seekMiB)", "count=\(mib)", "iflag=direct", "status=none"])
    return try must(["cmp", "\(dir)/in", "\(dir)/out"]).status == 0
}

/// Kernel log lines since `mark` (a line count of `dmesg`).
func dmesgLines() throws -> [String] {
    try must(["dmesg"]).lines
}
