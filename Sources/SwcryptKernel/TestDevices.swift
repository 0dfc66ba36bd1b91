import CSwcryptShim
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

// The kernel-facing half of `swcrypt testdev`: null_blk through configfs, loop
// devices through ioctls, scsi_debug through its module parameters. What swcrypt
// calls its own, and what it refuses, is decided in SwcryptKit (TestDevs.swift).

extension SwcryptError {
    /// The call that just failed, with the errno it left.
    static func last(_ operation: String, _ path: String) -> SwcryptError {
        SwcryptError(operation: operation, device: path, errno: Errno(rawValue: Glibc.errno))
    }
}

/// Kernel modules: loaded by running modprobe (it resolves dependencies and
/// module paths; its output is not parsed, only its exit status).
public struct KernelModules: Sendable {
    public var sysfsRoot: String

    public init(sysfsRoot: String = "/sys") {
        self.sysfsRoot = sysfsRoot
    }

    /// Loaded as a module or built in (both have /sys/module/NAME once they have
    /// parameters; null_blk, loop and scsi_debug all do).
    public func isLoaded(_ name: String) -> Bool {
        Files.exists("\(sysfsRoot)/module/\(name)")
    }

    public func load(_ name: String, _ parameters: [String] = []) throws(SwcryptError) {
        try run(modprobe(), ["-q", name] + parameters)
    }

    public func unload(_ name: String) throws(SwcryptError) {
        try run(modprobe(), ["-r", "-q", name])
    }

    private func modprobe() -> String {
        ["/usr/sbin/modprobe", "/sbin/modprobe"].first { access($0, X_OK) == 0 } ?? "/sbin/modprobe"
    }
}

/// Runs a program without a shell and waits for it; stdout/stderr are inherited.
func run(_ program: String, _ arguments: [String]) throws(SwcryptError) {
    let argv = ([program] + arguments).map { strdup($0) }
    defer { argv.forEach { free($0) } }
    var pid = pid_t()
    let rc = posix_spawn(&pid, program, nil, nil, argv + [nil], environ)
    let command = ([program] + arguments).joined(separator: " ")
    guard rc == 0 else { throw SwcryptError(operation: "posix_spawn", device: program, errno: Errno(rawValue: rc)) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard Glibc.errno == EINTR else { throw SwcryptError.last("waitpid", program) }
    }
    // WIFEXITED/WEXITSTATUS are macros: exited normally when the low 7 bits are 0.
    let exited = status & 0x7f == 0
    let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    guard code == 0 else { throw SwcryptError(.failure, device: program, "\(command) exited with status \(code)") }
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass.
public func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    var waited = 0.0
    while !condition() {
        if waited >= seconds { return false }
        usleep(50_000)
        waited += 0.05
    }
    return true
}

/// Writes a small value to a sysfs/configfs attribute (one write, as `echo`).
func writeAttribute(_ path: String, _ value: String) throws(SwcryptError) {
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SwcryptError.last("open", path) }
    defer { close(fd) }
    let bytes = Array(value.utf8)
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard n == bytes.count else { throw SwcryptError.last("write '\(value)' to", path) }
}

// MARK: - null_blk (configfs)

/// null_blk devices made through configfs: `mkdir nullb/NAME`, set attributes,
/// `power` 1; the disk is then /dev/NAME. Needs the module loaded (it registers
/// the `nullb` subsystem) and configfs mounted, in that order.
public struct NullBlkConfig: Sendable {
    /// Where configfs is (or gets) mounted.
    public var configfsRoot: String
    public var modules: KernelModules

    public init(configfsRoot: String = "/sys/kernel/config", modules: KernelModules = KernelModules()) {
        self.configfsRoot = configfsRoot
        self.modules = modules
    }

    public var directory: String { "\(configfsRoot)/nullb" }

    /// Loads null_blk without default devices and mounts configfs if needed.
    public func prepare() throws(SwcryptError) {
        if !modules.isLoaded("null_blk") { try modules.load("null_blk", ["nr_devices=0"]) }
        if Files.exists(directory) { return }
        // Mounting configfs only works once a configfs user (null_blk pulls it in) is loaded.
        if mount("configfs", configfsRoot, "configfs", 0, nil) != 0 && Glibc.errno != EBUSY {
            throw SwcryptError.last("mount configfs on", configfsRoot)
        }
        guard Files.exists(directory) else {
            throw SwcryptError(operation: "find null_blk's configfs directory", device: directory, errno: .noSuchFileOrDirectory)
        }
    }

    /// The configfs device directories (any name).
    public func names() -> [String] {
        Files.list(directory).filter { !$0.hasPrefix(".") && Files.exists("\(directory)/\($0)/power") }
    }

    public func isPowered(_ name: String) -> Bool {
        Files.readInt("\(directory)/\(name)/power") == 1
    }

    /// Creates and powers on a memory-backed device; removes the directory again if a step fails.
    public func create(name: String, blockSize: Int, sizeMiB: Int) throws(SwcryptError) {
        let dir = "\(directory)/\(name)"
        guard mkdir(dir, 0o755) == 0 else { throw SwcryptError.last("mkdir", dir) }
        do {
            // null_blk's `size` attribute is in MiB (the driver shifts it by 20).
            try writeAttribute("\(dir)/blocksize", "\(blockSize)")
            try writeAttribute("\(dir)/size", "\(sizeMiB)")
            try writeAttribute("\(dir)/memory_backed", "1")
            try writeAttribute("\(dir)/power", "1")
        } catch {
            _ = try? writeAttribute("\(dir)/power", "0")
            rmdir(dir)
            throw error
        }
    }

    public func remove(name: String) throws(SwcryptError) {
        let dir = "\(directory)/\(name)"
        if isPowered(name) { try writeAttribute("\(dir)/power", "0") }
        guard rmdir(dir) == 0 else { throw SwcryptError.last("rmdir", dir) }
    }
}

// MARK: - loop

/// Loop devices through /dev/loop-control and LOOP_CONFIGURE (Linux 5.8+), the
/// way losetup does it, without AUTOCLEAR: a loop device with AUTOCLEAR detaches
/// when its last opener closes it, which would be swcrypt itself, right after
/// creating it. The device lives until `remove`.
public struct LoopDevices: Sendable {
    public var devRoot: String
    public var modules: KernelModules

    public init(devRoot: String = "/dev", modules: KernelModules = KernelModules()) {
        self.devRoot = devRoot
        self.modules = modules
    }

    /// Creates a sparse file of `size` bytes (fails if the path exists).
    public static func createSparseFile(_ path: String, size: UInt64) throws(SwcryptError) {
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SwcryptError.last("create", path) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(size)) == 0 else {
            let e = SwcryptError.last("ftruncate", path)
            unlink(path)
            throw e
        }
    }

    /// Attaches `file` to a free loop device with direct I/O requested; returns its name ("loop3").
    /// Whether the kernel kept direct I/O is in /sys/block/loopN/loop/dio (it
    /// silently falls back to buffered I/O when the backing file cannot do it).
    public func attach(file: String, blockSize: Int, directIO: Bool = true) throws(SwcryptError) -> String {
        let controlPath = "\(devRoot)/loop-control"
        if !Files.exists(controlPath) { try modules.load("loop") }
        let control = open(controlPath, O_RDWR | O_CLOEXEC)
        guard control >= 0 else { throw SwcryptError.last("open", controlPath) }
        defer { close(control) }
        let backing = open(file, O_RDWR | O_CLOEXEC)
        guard backing >= 0 else { throw SwcryptError.last("open", file) }
        defer { close(backing) }

        // Another process can take the free device between GET_FREE and CONFIGURE
        // (EBUSY); ask again, as losetup does.
        var lastError = SwcryptError(.failure, device: file, "timed out waiting for a free loop device")
        for _ in 0..<8 {
            let number = ioctl(control, UInt(LOOP_CTL_GET_FREE))
            guard number >= 0 else { throw SwcryptError.last("LOOP_CTL_GET_FREE on", controlPath) }
            let path = "\(devRoot)/loop\(number)"
            _ = waitUntil(2) { Files.exists(path) }
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw SwcryptError.last("open", path) }
            var config = loop_config()
            config.fd = UInt32(backing)
            config.block_size = UInt32(blockSize)
            config.info.lo_flags = directIO ? UInt32(LO_FLAGS_DIRECT_IO) : 0
            withUnsafeMutableBytes(of: &config.info.lo_file_name) { buffer in
                let name = Array(file.utf8.prefix(buffer.count - 1))
                buffer.copyBytes(from: name)
            }
            let rc = ioctl(fd, UInt(LOOP_CONFIGURE), &config)
            let err = Glibc.errno
            close(fd)
            if rc == 0 { return "loop\(number)" }
            lastError = SwcryptError(operation: "LOOP_CONFIGURE", device: path, errno: Errno(rawValue: err))
            guard err == EBUSY else { throw lastError }
        }
        throw lastError
    }

    /// Detaches the loop device and deletes it (LOOP_CTL_REMOVE), so it leaves
    /// /sys/block as a removed null_blk or scsi_debug disk does.
    public func detach(name: String) throws(SwcryptError) {
        let path = "\(devRoot)/\(name)"
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw SwcryptError.last("open", path) }
        // LOOP_CLR_FD marks the device for rundown; the kernel clears it when
        // the last opener (this fd) closes.
        let rc = ioctl(fd, UInt(LOOP_CLR_FD))
        let e = Glibc.errno
        close(fd)
        guard rc == 0 else { throw SwcryptError(operation: "LOOP_CLR_FD", device: path, errno: Errno(rawValue: e)) }
        guard let number = Int32(name.dropFirst("loop".count)) else { return }
        let control = open("\(devRoot)/loop-control", O_RDWR | O_CLOEXEC)
        guard control >= 0 else { throw SwcryptError.last("open", "\(devRoot)/loop-control") }
        defer { close(control) }
        var removeError: SwcryptError?
        let removed = waitUntil(5) {
            if ioctl(control, UInt(LOOP_CTL_REMOVE), number) == 0 { return true }
            removeError = .last("LOOP_CTL_REMOVE \(number) on", "\(devRoot)/loop-control")
            return Glibc.errno != EBUSY
        }
        if !removed, let removeError { throw removeError }
    }
}

extension Sysfs {
    /// The backing file of a bound loop device (absent when it is unbound).
    public func loopBackingFile(_ name: String) -> String? {
        Files.readText("\(root)/block/\(name)/loop/backing_file")
    }

    /// Whether the loop device does direct I/O on its backing file.
    public func loopDirectIO(_ name: String) -> Bool? {
        Files.readInt("\(root)/block/\(name)/loop/dio").map { $0 == 1 }
    }

    /// Whole-disk names in /sys/block.
    public func blockDeviceNames() -> [String] {
        Files.list("\(root)/block")
    }

    /// The disks scsi_debug currently provides, with their SCSI host number
    /// (the host number grows with every module load, so name + host tells one
    /// load's disk from a later load's).
    public func scsiDebugDisks() -> [(name: String, host: Int)] {
        let driver = "\(root)/bus/pseudo/drivers/scsi_debug"
        var disks = [(name: String, host: Int)]()
        for adapter in Files.list(driver) where adapter.hasPrefix("adapter") {
            for host in Files.list("\(driver)/\(adapter)") where host.hasPrefix("host") {
                guard let number = Int(host.dropFirst(4)) else { continue }
                for target in Files.list("\(driver)/\(adapter)/\(host)") where target.hasPrefix("target") {
                    let targetDir = "\(driver)/\(adapter)/\(host)/\(target)"
                    for lun in Files.list(targetDir) {
                        for disk in Files.list("\(targetDir)/\(lun)/block") {
                            disks.append((disk, number))
                        }
                    }
                }
            }
        }
        return disks
    }
}

/// Creates a directory and its parents with mode 0755 (swcrypt's state holds
/// nothing secret, and `testdev ls` works without root).
public func makeDirectories(_ path: String) throws(SwcryptError) {
    var current = ""
    for part in path.split(separator: "/") {
        current += "/\(part)"
        if mkdir(current, 0o755) != 0 && Glibc.errno != EEXIST { throw SwcryptError.last("mkdir", current) }
    }
}

/// Opens a block device O_EXCL to see whether someone holds it exclusively
/// (a mount, a mapping, another O_EXCL opener). nil when free.
public func exclusiveOpenError(_ path: String) -> Errno? {
    let fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC)
    guard fd >= 0 else { return Errno(rawValue: Glibc.errno) }
    close(fd)
    return nil
}

public enum SmallFiles {
    public static func read(_ path: String) -> String? { Files.readText(path) }
    public static func exists(_ path: String) -> Bool { Files.exists(path) }
    public static func list(_ path: String) -> [String] { Files.list(path) }

    /// Replaces the file's contents (write to a temporary name, then rename).
    public static func write(_ path: String, _ text: String) throws(SwcryptError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SwcryptError.last("create", temporary) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard n == bytes.count else { throw SwcryptError.last("write", temporary) }
        guard rename(temporary, path) == 0 else { throw SwcryptError.last("rename", path) }
    }

    public static func remove(_ path: String) {
        unlink(path)
    }
}
