// The only file in swcrypt that talks to libblkid. Nothing from CBlkid leaves it.
internal import CBlkid
import SwcryptCore
#if canImport(Glibc)
import Glibc
#endif

/// Every signature libblkid knows, on one device, as wipefs lists them:
/// superblocks (filesystems, LUKS, dm-integrity, LVM, md RAID, ZFS, BitLocker,
/// swap, ...) and partition tables.
public enum SignatureProbe {
    /// Probes an open descriptor (an O_EXCL one while swcrypt holds the device).
    public static func scan(fd: Int32) -> SignatureScan {
        guard let pr = blkid_new_probe() else { return .notProbed(reason: "libblkid could not allocate a probe") }
        defer { blkid_free_probe(pr) }
        guard blkid_probe_set_device(pr, fd, 0, 0) == 0 else {
            return .notProbed(reason: "libblkid could not read the device")
        }
        _ = blkid_probe_enable_superblocks(pr, 1)
        _ = blkid_probe_set_superblocks_flags(pr, Int32(BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE | BLKID_SUBLKS_LABEL | BLKID_SUBLKS_MAGIC))
        _ = blkid_probe_enable_partitions(pr, 1)
        _ = blkid_probe_set_partitions_flags(pr, Int32(BLKID_PARTS_MAGIC))
        var found = [DeviceSignature]()
        func value(_ name: String) -> String? {
            var data: UnsafePointer<CChar>?
            var len = 0
            guard blkid_probe_lookup_value(pr, name, &data, &len) == 0, let data else { return nil }
            return String(cString: data)
        }
        var rounds = 0
        while rounds < 64 {   // one round per signature; libblkid ends with 1
            rounds += 1
            let rc = blkid_do_probe(pr)
            if rc == 1 { break }
            if rc < 0 { return .notProbed(reason: "libblkid failed while probing (\(found.count) found before)") }
            if let type = value("TYPE") {
                found.append(DeviceSignature(type: type, usage: value("USAGE"), label: value("LABEL"),
                                             offset: value("SBMAGIC_OFFSET").flatMap { UInt64($0) }))
            } else if let type = value("PTTYPE") {
                found.append(DeviceSignature(type: type, offset: value("PTMAGIC_OFFSET").flatMap { UInt64($0) },
                                             isPartitionTable: true))
            }
        }
        return .probed(found)
    }

    /// Opens PATH read-only and probes it.
    public static func scan(path: String) -> SignatureScan {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .notProbed(reason: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return scan(fd: fd)
    }
}
