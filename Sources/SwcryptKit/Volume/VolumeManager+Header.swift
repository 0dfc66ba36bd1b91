import SwcryptBlkid
import SwcryptCore
import SwcryptLUKS
import SwcryptSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// `swcrypt header backup|restore` and the full metadata for `dump --json`, as
/// cryptsetup's luksHeaderBackup, luksHeaderRestore and luksDump --dump-json-metadata.
extension VolumeManager {
    /// Writes the header and keyslot area to a new file, mode 0600 (an existing
    /// file is refused: a backup is never overwritten).
    public func backupHeader(path: String, to file: String) throws(SwcryptError) {
        // A header swcrypt would not open is still backed up (with a warning): the
        // backup is what a repair starts from.
        let device = try header(forKeys: path, strict: false)
        if access(file, F_OK) == 0 {
            throw SwcryptError(.busy, device: file, "exists already; a header backup is never overwritten (choose a new file name)")
        }
        let mask = umask(0o077)
        defer { umask(mask) }
        try luks { () throws(LUKSError) in try device.backupHeader(to: file) }
        // libcryptsetup creates it read-only for its owner (0400); 0600 lets the
        // owner replace it by a newer backup without chmod, and nobody else read it.
        guard chmod(file, 0o600) == 0 else {
            throw SwcryptError(.failure, device: file, "written, but cannot set its mode to 0600", errno: Errno(rawValue: errno))
        }
    }

    /// What a restore would replace, for the confirmation: the backup's UUID and the
    /// device's (nil when it has no LUKS2 header), and what else is on the device.
    public func planHeaderRestore(path: String, from file: String, force: Bool) throws(SwcryptError) -> HeaderRestorePlan {
        try Self.requireRoot("header restore")
        let target = try resolver.resolve(path)
        try resolver.requireUnused(target)
        let backup = try loadHeader(file).info
        let current = try? loadHeader(path, strict: false).info
        if let current, current.uuid != backup.uuid, !force {
            throw SwcryptError(.failure, device: path,
                               "the backup \(file) is of the volume \(backup.uuid), but the device holds \(current.uuid); restoring it makes the data unreadable with every passphrase of the current header (--force to restore anyway)")
        }
        let signatures = SignatureProbe.scan(path: path)
        let foreign = signatures.found.filter { $0.type != "crypto_LUKS" }
        if current == nil, !foreign.isEmpty, !force {
            throw SwcryptError(.failure, device: path,
                               "holds \(foreign.map(\.description).joined(separator: ", ")), not a LUKS2 volume; restoring a header over it destroys it (--force to restore anyway)")
        }
        return HeaderRestorePlan(target: target, file: file, backup: backup, current: current, signatures: signatures)
    }

    /// Writes the backup over the device's header, holding the device's LUKS lock.
    public func restoreHeader(_ plan: HeaderRestorePlan) throws(SwcryptError) {
        let lock = try DeviceLock(major: plan.target.device.major, minor: plan.target.device.minor, device: plan.target.path)
        LUKSLibrary.setMetadataLocking(false)
        defer { LUKSLibrary.setMetadataLocking(true); withExtendedLifetime(lock) {} }
        try resolver.recheck(plan.target, nothing: "nothing was restored")
        let device = try luks { () throws(LUKSError) in try LUKSDevice(path: plan.target.path) }
        try luks { () throws(LUKSError) in try device.restoreHeader(from: plan.file) }
    }

    /// The complete LUKS2 metadata (the header's JSON), as libcryptsetup dumps it.
    public func metadataJSON(path: String) throws(SwcryptError) -> String {
        let device = try loadHeader(path, strict: false)
        return try luks { () throws(LUKSError) in try device.metadataJSON() }
    }
}

/// A header restore, decided before anything is written.
public struct HeaderRestorePlan: Sendable {
    public var target: BlockTarget
    public var file: String
    public var backup: LUKSInfo
    /// The device's own header, when it has one.
    public var current: LUKSInfo?
    public var signatures: SignatureScan

    public var summaryLines: [String] {
        var lines = ["\(target.path): the LUKS2 header and keyslots are replaced by those in \(file) (volume \(backup.uuid), keyslots \(backup.keyslots.map(String.init).joined(separator: ", ")))"]
        if let current {
            lines.append("  now on the device: volume \(current.uuid), keyslots \(current.keyslots.map(String.init).joined(separator: ", ")); they are lost")
        } else {
            lines.append("  found on the device: " + signatures.summary)
        }
        return lines
    }
}
