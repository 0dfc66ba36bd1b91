import CSwcryptShim
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Loop devices through /dev/loop-control and LOOP_CONFIGURE (Linux 5.8+), the
/// way losetup does it, without AUTOCLEAR: a loop device with AUTOCLEAR detaches
/// when its last opener closes it, which would be swcrypt itself, right after
/// creating it. The device lives until `remove`.
public struct LoopDevices: Sendable {
    public var devRoot: String
    public var modules: Modules

    public init(devRoot: String = "/dev", modules: Modules = Modules()) {
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
