import CSwcryptShim
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// null_blk devices made through configfs: `mkdir nullb/NAME`, set attributes,
/// `power` 1; the disk is then /dev/NAME. Needs the module loaded (it registers
/// the `nullb` subsystem) and configfs mounted, in that order.
public struct NullBlkConfig: Sendable {
    /// Where configfs is (or gets) mounted.
    public var configfsRoot: String
    public var modules: Modules

    public init(configfsRoot: String = "/sys/kernel/config", modules: Modules = Modules()) {
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
            try Files.writeAttribute("\(dir)/blocksize", "\(blockSize)")
            try Files.writeAttribute("\(dir)/size", "\(sizeMiB)")
            try Files.writeAttribute("\(dir)/memory_backed", "1")
            try Files.writeAttribute("\(dir)/power", "1")
        } catch {
            _ = try? Files.writeAttribute("\(dir)/power", "0")
            rmdir(dir)
            throw error
        }
    }

    public func remove(name: String) throws(SwcryptError) {
        let dir = "\(directory)/\(name)"
        if isPowered(name) { try Files.writeAttribute("\(dir)/power", "0") }
        guard rmdir(dir) == 0 else { throw SwcryptError.last("rmdir", dir) }
    }
}
