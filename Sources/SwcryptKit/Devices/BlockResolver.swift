import SwcryptCore
import SwcryptSystem
#if canImport(Glibc)
import Glibc
#endif

/// The one way from a path on the command line to a block device: what the path
/// is (sysfs), or one line saying what it is instead.
public struct BlockResolver: Sendable {
    public var sysfs: Sysfs
    /// Where device nodes are, for the hints ("use the block device /dev/nvme0n1").
    public var devRoot: String

    public init(sysfs: Sysfs = Sysfs(), devRoot: String = "/dev") {
        self.sysfs = sysfs
        self.devRoot = devRoot
    }

    /// Resolves a path to a block device. Anything else is refused with the error
    /// `refuse` makes from what it is ("a directory", "the NVMe controller nvme0
    /// (its namespaces: /dev/nvme0n1)"); by default "not a block device: it is …".
    public func resolve(_ path: String, refuse: ((String) -> SwcryptError)? = nil) throws(SwcryptError) -> BlockTarget {
        func notBlock(_ what: String) -> SwcryptError {
            refuse?(what) ?? SwcryptError(.wrongDevice, device: path, "not a block device: it is \(what)")
        }
        switch DeviceNode.of(path: path) {
        case .missing(let e):
            throw SwcryptError(.wrongDevice, device: path, "no such device", errno: e)
        case .block(let major, let minor):
            guard let d = sysfs.blockDevice(major: major, minor: minor) else {
                throw SwcryptError(.wrongDevice, device: path, "block device \(major):\(minor) is unknown to sysfs")
            }
            try requireNotSuspended(d.name, path: path)
            return BlockTarget(path: path, device: d)
        case .regularFile:
            throw notBlock("a regular file (attach it with `swcrypt testdev create loop` or losetup)")
        case .directory:
            throw notBlock("a directory")
        case .character(let major, let minor):
            throw notBlock(characterDevice(major: major, minor: minor))
        case .other:
            throw notBlock("neither a block nor a character device")
        }
    }

    /// Refuses a device that is, or sits on, a suspended device-mapper device: any
    /// read of it (a header, a signature probe) would wait until it is resumed, for
    /// ever if nobody does. A suspension that ends within a few seconds (LVM or
    /// cryptsetup reloading a table) is waited out.
    public func requireNotSuspended(_ kernelName: String, path: String, beneath: Bool = false, waitSeconds: Int = 5) throws(SwcryptError) {
        for attempt in 0...(waitSeconds * 10) {
            guard let (kernel, mapping) = sysfs.suspendedDeviceMapper(atOrBeneath: kernelName) else { return }
            if attempt == waitSeconds * 10 {
                let which = kernel == kernelName && !beneath ? "it is a suspended device-mapper device (\(mapping))"
                    : "the device-mapper device \(mapping) (\(kernel)) beneath it is suspended"
                // A volume suspended by cryptsetup luksSuspend has its key wiped:
                // only luksResume (with the passphrase) brings it back.
                let dmUUID = Files.readText("\(sysfs.root)/class/block/\(kernel)/dm/uuid") ?? ""
                let resume = dmUUID.hasPrefix("CRYPT-") ? "cryptsetup luksResume \(mapping)" : "dmsetup resume \(mapping)"
                throw SwcryptError(.busy, device: path, "\(which): I/O to it waits until it is resumed (\(resume)); nothing was done")
            }
            usleep(100_000)
        }
    }

    /// For the open mapping NAME: the same refusal when a device beneath it (with
    /// `itself`, or the mapping itself) is suspended.
    public func requireNotSuspended(mapping name: String, itself: Bool) throws(SwcryptError) {
        guard let kernel = sysfs.kernelName(ofPath: "/dev/mapper/\(name)") else { return }
        for k in itself ? [kernel] : sysfs.slaves(of: kernel) {
            try requireNotSuspended(k, path: "/dev/mapper/\(name)", beneath: !itself)
        }
    }

    /// The suspended device-mapper device beneath the open mapping NAME, if any
    /// (no waiting): what `close` must not read through.
    public func suspendedDevice(beneath name: String) -> (kernelName: String, mappingName: String)? {
        guard let kernel = sysfs.kernelName(ofPath: "/dev/mapper/\(name)") else { return nil }
        for k in sysfs.slaves(of: kernel) {
            if let found = sysfs.suspendedDeviceMapper(atOrBeneath: k) { return found }
        }
        return nil
    }

    /// What a character device is, with the block device to use where there is one.
    func characterDevice(major: Int, minor: Int) -> String {
        guard let (name, subsystem) = sysfs.characterDevice(major: major, minor: minor) else {
            return "character device \(major):\(minor)"
        }
        switch subsystem {
        case "nvme":
            let namespaces = sysfs.nvmeNamespaces(ofController: name).map { "\(devRoot)/\($0)" }
            let hint = namespaces.isEmpty ? "it has no namespaces attached"
                : "its namespaces: " + namespaces.joined(separator: ", ")
            return "the NVMe controller \(name) (\(hint))"
        case "nvme-generic":
            let block = name.hasPrefix("ng") ? "nvme" + name.dropFirst(2) : name
            return "the NVMe generic character device \(name); use the block device \(devRoot)/\(block)"
        default:
            return "a character device (\(subsystem) \(name))"
        }
    }

    /// After a wait (a prompt, a passphrase, a lock): the path must still name the
    /// device it named when the work was planned, and that device must still be
    /// unused. `nothing` ends the refusal ("nothing was written").
    @discardableResult
    func recheck(_ target: BlockTarget, nothing: String) throws(SwcryptError) -> BlockTarget {
        let now = try resolve(target.path)
        guard now.device.major == target.device.major && now.device.minor == target.device.minor else {
            throw SwcryptError(.wrongDevice, device: target.path, "now names another device (\(now.majorMinor); it was \(target.majorMinor) before); \(nothing)")
        }
        try requireUnused(now)
        return now
    }

    /// Refuses a device that is mounted, used as swap, or held by a mapping or md.
    func requireUnused(_ target: BlockTarget) throws(SwcryptError) {
        let mounts = sysfs.mounts(of: target.device)
        if !mounts.isEmpty {
            throw SwcryptError(.busy, device: target.path, "in use: mounted (\(mounts.joined(separator: ", ")))")
        }
        if !target.device.holders.isEmpty {
            throw SwcryptError(.busy, device: target.path, "in use: held by \(target.device.holders.map(\.description).joined(separator: ", "))")
        }
    }
}
