import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// What sysfs shows of the test devices (loop backing files, scsi_debug disks).
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
