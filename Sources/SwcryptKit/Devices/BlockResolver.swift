import SwcryptCore
import SwcryptSystem

public struct BlockResolver: Sendable {
    public var sysfs: Sysfs

    public init(sysfs: Sysfs = Sysfs()) { self.sysfs = sysfs }

    /// Resolves a path to a block device, or one line saying what it is instead.
    public func resolve(_ path: String) throws(SwcryptError) -> BlockTarget {
        switch DeviceNode.of(path: path) {
        case .missing(let e):
            throw SwcryptError(.wrongDevice, device: path, "no such device", errno: e)
        case .block(let major, let minor):
            guard let d = sysfs.blockDevice(major: major, minor: minor) else {
                throw SwcryptError(.wrongDevice, device: path, "block device \(major):\(minor) is unknown to sysfs")
            }
            return BlockTarget(path: path, device: d)
        case .regularFile:
            throw SwcryptError(.wrongDevice, device: path, "not a block device: it is a regular file (attach it with `swcrypt testdev create loop` or losetup)")
        case .directory:
            throw SwcryptError(.wrongDevice, device: path, "not a block device: it is a directory")
        case .character:
            throw SwcryptError(.wrongDevice, device: path, "not a block device: it is a character device")
        case .other:
            throw SwcryptError(.wrongDevice, device: path, "not a block device")
        }
    }

    /// After a wait (a prompt, a passphrase, a lock): the path must still name the
    /// device it named when the work was planned, and that device must still be
    /// unused. `nothing` ends the refusal ("nothing was written").
    @discardableResult
    public func recheck(_ target: BlockTarget, nothing: String) throws(SwcryptError) -> BlockTarget {
        let now = try resolve(target.path)
        guard now.device.major == target.device.major && now.device.minor == target.device.minor else {
            throw SwcryptError(.wrongDevice, device: target.path, "now names another device (\(now.majorMinor); it was \(target.majorMinor) before); \(nothing)")
        }
        try requireUnused(now)
        return now
    }

    /// Refuses a device that is mounted, used as swap, or held by a mapping or md.
    public func requireUnused(_ target: BlockTarget) throws(SwcryptError) {
        let mounts = sysfs.mounts(of: target.device)
        if !mounts.isEmpty {
            throw SwcryptError(.busy, device: target.path, "in use: mounted (\(mounts.joined(separator: ", ")))")
        }
        if !target.device.holders.isEmpty {
            throw SwcryptError(.busy, device: target.path, "in use: held by \(target.device.holders.map(\.description).joined(separator: ", "))")
        }
    }
}
