import SwcryptCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads the kernel's view from sysfs under an injectable root (tests use captured
/// trees), like libnvme's `$LIBNVME_SYSFS_PATH`.
public struct Sysfs: Sendable {
    public var root: String
    public var procRoot: String

    public init(root: String = "/sys", procRoot: String = "/proc") {
        self.root = root
        self.procRoot = procRoot
    }

    /// The kernel name of the block device major:minor ("nvme0n1", "nvme0n1p1").
    func blockDeviceName(major: Int, minor: Int) -> String? {
        if let link = Files.readLink("\(root)/dev/block/\(major):\(minor)") { return link.lastPathComponent }
        return nil
    }

    /// The name and class of a character device ("nvme0", "nvme"), if sysfs knows it.
    public func characterDevice(major: Int, minor: Int) -> (name: String, subsystem: String)? {
        let base = "\(root)/dev/char/\(major):\(minor)"
        guard let link = Files.readLink(base) else { return nil }
        let subsystem = Files.readLink("\(base)/subsystem")?.lastPathComponent ?? "unknown"
        return (link.lastPathComponent, subsystem)
    }

    public func blockDevice(major: Int, minor: Int) -> BlockDevice? {
        blockDeviceName(major: major, minor: minor).flatMap { blockDevice(name: $0) }
    }

    public func blockDevice(name: String) -> BlockDevice? {
        let dir = "\(root)/class/block/\(name)"
        guard let dev = Files.readText("\(dir)/dev") else { return nil }
        let mm = dev.split(separator: ":").compactMap { Int($0) }
        guard mm.count == 2 else { return nil }

        let partitionNumber = Files.readInt("\(dir)/partition")
        var wholeDisk = name
        var kind: BlockDevice.Kind
        if let number = partitionNumber {
            // /sys/class/block/nvme0n1p1 -> .../block/nvme0n1/nvme0n1p1
            let link = Files.readLink(dir) ?? ""
            let parts = link.split(separator: "/")
            wholeDisk = parts.count >= 2 ? String(parts[parts.count - 2]) : name
            kind = .partition(of: wholeDisk, number: number)
        } else if isNVMeNamespaceName(name), let nsid = Files.readInt("\(dir)/nsid") {
            kind = .nvmeNamespace(nsid: UInt32(nsid))
        } else if name.hasPrefix("loop") {
            kind = .loop
        } else if name.hasPrefix("dm-") {
            kind = .deviceMapper(name: Files.readText("\(dir)/dm/name") ?? name)
        } else if name.hasPrefix("md") {
            kind = .md
        } else if name.hasPrefix("sd") {
            kind = .scsiDisk
        } else if Files.readLink("\(dir)/device/driver")?.lastPathComponent == "null_blk"
                    || Files.readLink("\(dir)/device")?.contains("nullb") == true {
            kind = .nullBlock
        } else {
            kind = .other
        }

        let whole = "\(root)/class/block/\(wholeDisk)"
        let partitions = partitionNumber == nil
            ? Files.list(dir).filter { Files.exists("\(dir)/\($0)/partition") }
            : []
        var holders = Files.list("\(dir)/holders")
        for p in partitions { holders += Files.list("\(dir)/\(p)/holders") }
        let holderNames = holders.map { Holder(kernelName: $0, mappingName: Files.readText("\(root)/class/block/\($0)/dm/name")) }

        return BlockDevice(
            name: name, major: mm[0], minor: mm[1], kind: kind,
            logicalBlockSize: Files.readInt("\(whole)/queue/logical_block_size") ?? 512,
            physicalBlockSize: Files.readInt("\(whole)/queue/physical_block_size") ?? 512,
            // sysfs says sectors; a value no device can have (negative, or beyond
            // 2^54 sectors) reads as 0: an unusable device, not a trap.
            sizeBytes: Files.readInt("\(dir)/size").flatMap { UInt64(exactly: $0) }
                .map { $0 <= TableLimits.maxSectors ? $0 * 512 : 0 } ?? 0,
            metadataBytes: Files.readInt("\(whole)/metadata_bytes"),
            integrity: IntegrityProfile(sysfs: Files.readText("\(whole)/integrity/format") ?? "none"),
            integrityTagSize: Files.readInt("\(whole)/integrity/tag_size") ?? 0,
            holders: holderNames,
            partitions: partitions)
    }

    /// The block devices a device sits on directly (its slaves/: a mapping's tables' devices).
    public func slaves(of name: String) -> [String] {
        Files.list("\(root)/class/block/\(name)/slaves").sorted()
    }

    /// The first suspended device-mapper device at or beneath the block device
    /// `name` (following slaves/, from a partition its whole disk's), as (kernel
    /// name, mapping name). I/O to a suspended device waits until it is resumed.
    public func suspendedDeviceMapper(atOrBeneath name: String) -> (kernelName: String, mappingName: String)? {
        var queue = [name], seen = Set<String>()
        while let n = queue.popLast() {
            guard seen.insert(n).inserted, seen.count < 256 else { continue }
            let dir = "\(root)/class/block/\(n)"
            if Files.exists("\(dir)/partition") {
                let parts = (Files.readLink(dir) ?? "").split(separator: "/")
                if parts.count >= 2 { queue.append(String(parts[parts.count - 2])) }
                continue
            }
            if Files.readText("\(dir)/dm/suspended") == "1" {
                return (n, Files.readText("\(dir)/dm/name") ?? n)
            }
            queue += Files.list("\(dir)/slaves")
        }
        return nil
    }

    /// The controller character-device names ("nvme0") behind a namespace block device.
    public func nvmeControllers(ofNamespace name: String) -> [String] {
        guard let link = Files.readLink("\(root)/class/block/\(name)/device") else { return [] }
        let target = link.lastPathComponent
        if target.hasPrefix("nvme-subsys") {
            // Native multipath: the head's device is the subsystem; its controllers are listed in it.
            return Files.list("\(root)/class/nvme-subsystem/\(target)").filter(isNVMeControllerName)
        }
        return isNVMeControllerName(target) ? [target] : []
    }

    /// An attribute of an NVMe controller ("model", "firmware_rev"), trimmed; nil when absent.
    public func nvmeControllerAttribute(_ controller: String, _ attribute: String) -> String? {
        guard let text = Files.readText("\(root)/class/nvme/\(controller)/\(attribute)")?.trimmingCharacters(in: " \n\t"),
              !text.isEmpty else { return nil }
        return text
    }

    /// The hidden per-path disks of a native-multipath NVMe head ("nvme0c0n1"),
    /// which is what the kernel names in I/O error lines.
    public func multipathPaths(of name: String) -> [String] {
        let listed = Files.list("\(root)/class/block/\(name)/multipath")
        if !listed.isEmpty { return listed }
        // Otherwise by name: head nvme<S>n<N> has paths nvme<S>c<C>n<N>.
        guard isNVMeNamespaceName(name), let n = name.lastIndex(of: "n"), n != name.startIndex else { return [] }
        let subsystem = name[name.index(name.startIndex, offsetBy: 4)..<n], nsid = name[name.index(after: n)...]
        return Files.list("\(root)/class/block").filter { path in
            guard path.hasPrefix("nvme\(subsystem)c"), path.hasSuffix("n\(nsid)") else { return false }
            let middle = path.dropFirst("nvme\(subsystem)c".count).dropLast("n\(nsid)".count)
            return !middle.isEmpty && middle.allSatisfy { $0.isASCII && $0.isNumber }
        }.sorted()
    }

    /// The kernel name behind a device path ("/dev/mapper/x" -> "dm-3"), if any.
    public func kernelName(ofPath path: String) -> String? {
        guard case .block(let ma, let mi) = DeviceNode.of(path: path) else { return nil }
        return blockDeviceName(major: ma, minor: mi)
    }

    /// All namespace block devices reachable through a controller: its own
    /// (nvme0n1 without multipath), or the heads of every subsystem it belongs to
    /// (native multipath: the controller lists only hidden paths such as nvme0c0n1;
    /// the heads, which have /dev nodes, are in /sys/class/nvme-subsystem/*/).
    public func nvmeNamespaces(ofController controller: String) -> [String] {
        var names = Files.list("\(root)/class/nvme/\(controller)").filter(isNVMeNamespaceName)
        for subsys in Files.list("\(root)/class/nvme-subsystem") {
            let entries = Files.list("\(root)/class/nvme-subsystem/\(subsys)")
            if entries.contains(controller) { names += entries.filter(isNVMeNamespaceName) }
        }
        return Array(Set(names)).sorted()
    }

    /// Whether /proc/misc lists a misc device (it lists "device-mapper" once dm_mod
    /// is in the kernel, and anyone can read it); nil when unreadable.
    public func miscDeviceRegistered(_ name: String) -> Bool? {
        guard let text = Files.readText("\(procRoot)/misc") else { return nil }
        return text.split(separator: "\n").contains { $0.split(separator: " ").last.map(String.init) == name }
    }

    /// Where the device itself is mounted (every mount of it, in this mount namespace).
    public func mountEntries(major: Int, minor: Int) -> [MountEntry] {
        MountEntry.parse(Files.readText("\(procRoot)/self/mountinfo") ?? "").filter { $0.major == major && $0.minor == minor }
    }

    /// Mount points of the device or any of its partitions, and swap use.
    public func mounts(of device: BlockDevice) -> [String] {
        var numbers = [(device.major, device.minor)]
        for p in device.partitions {
            if let pd = blockDevice(name: p) { numbers.append((pd.major, pd.minor)) }
        }
        let entries = MountEntry.parse(Files.readText("\(procRoot)/self/mountinfo") ?? "")
        var result = entries.filter { e in numbers.contains { $0 == (e.major, e.minor) } }
            .map { "\($0.source.isEmpty ? device.name : $0.source) on \($0.mountPoint)" }
        // Swap areas (the first column of /proc/swaps is a path).
        for line in (Files.readText("\(procRoot)/swaps") ?? "").split(separator: "\n").dropFirst() {
            guard let path = line.split(separator: " ").first.map(String.init) else { continue }
            if case .block(let ma, let mi) = DeviceNode.of(path: path), numbers.contains(where: { $0 == (ma, mi) }) {
                result.append("\(path) in use as swap")
            }
        }
        return result
    }
}

/// nvme<ctrl>n<ns>; excludes the hidden multipath paths nvme<ctrl>c<path>n<ns>.
public func isNVMeNamespaceName(_ name: String) -> Bool {
    matches(name, ["nvme", "#", "n", "#"])
}

func isNVMeControllerName(_ name: String) -> Bool {
    matches(name, ["nvme", "#"])
}

/// Matches literal pieces and "#" (one or more digits), consuming the whole string.
private func matches(_ name: String, _ pattern: [String]) -> Bool {
    var rest = Substring(name)
    for piece in pattern {
        if piece == "#" {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { return false }
            rest = rest.dropFirst(digits.count)
        } else {
            guard rest.hasPrefix(piece) else { return false }
            rest = rest.dropFirst(piece.count)
        }
    }
    return rest.isEmpty
}
