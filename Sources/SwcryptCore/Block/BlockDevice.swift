/// One block device, as the kernel describes it (sysfs), and what its per-sector
/// metadata offers. The one model of a block device: validation, `check`, `id-ns`,
/// `nvme-format` and the workflows all read this.

/// The block-integrity profile (/sys/block/X/integrity/format).
public enum IntegrityProfile: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// "none": no metadata the block layer manages.
    case none
    /// "nop": metadata without protection information, free for tags.
    case nop
    /// "DM-DIF-EXT-TAG": a dm-integrity layer beneath that offers tags.
    case dmIntegrityTags
    /// Protection information in the metadata: "T10-DIF-TYPE1-CRC", "EXT-DIF-TYPE1-CRC64", ...
    case protectionInformation(String)
    /// A profile swcrypt does not know.
    case other(String)

    public init(sysfs text: String) {
        switch text {
        case "none": self = .none
        case "nop": self = .nop
        case "DM-DIF-EXT-TAG": self = .dmIntegrityTags
        case let t where t.hasPrefix("T10-") || t.hasPrefix("EXT-DIF") || t.contains("DIF-TYPE"):
            self = .protectionInformation(t)
        default: self = .other(text)
        }
    }

    /// The sysfs text.
    public var description: String {
        switch self {
        case .none: return "none"
        case .nop: return "nop"
        case .dmIntegrityTags: return "DM-DIF-EXT-TAG"
        case .protectionInformation(let t), .other(let t): return t
        }
    }
}

/// A block device as the kernel describes it in sysfs.
public struct BlockDevice: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case nvmeNamespace(nsid: UInt32)
        case partition(of: String, number: Int)
        case loop
        case deviceMapper(name: String)
        case md
        case scsiDisk
        case nullBlock
        case other
    }

    public var name: String
    public var major: Int
    public var minor: Int
    public var kind: Kind
    /// Logical block size in bytes (the whole disk's for a partition).
    public var logicalBlockSize: Int
    public var physicalBlockSize: Int
    /// Capacity in bytes (sysfs `size` is in 512-byte sectors).
    public var sizeBytes: UInt64
    /// Per-block metadata bytes (`metadata_bytes`, Linux 6.9+); nil when not shown.
    public var metadataBytes: Int?
    /// The block-integrity profile (`integrity/format`).
    public var integrity: IntegrityProfile
    public var integrityTagSize: Int
    /// Holders (device-mapper mappings, md devices) of the device and its partitions.
    public var holders: [Holder]
    public var partitions: [String]

    public init(name: String, major: Int, minor: Int, kind: Kind, logicalBlockSize: Int, physicalBlockSize: Int,
                sizeBytes: UInt64, metadataBytes: Int?, integrity: IntegrityProfile, integrityTagSize: Int = 0,
                holders: [Holder] = [], partitions: [String] = []) {
        self.name = name
        self.major = major
        self.minor = minor
        self.kind = kind
        self.logicalBlockSize = logicalBlockSize
        self.physicalBlockSize = physicalBlockSize
        self.sizeBytes = sizeBytes
        self.metadataBytes = metadataBytes
        self.integrity = integrity
        self.integrityTagSize = integrityTagSize
        self.holders = holders
        self.partitions = partitions
    }

    public var devicePath: String { "/dev/\(name)" }

    /// "259:1": how tables refer to it (as cryptsetup writes them).
    public var majorMinor: String { "\(major):\(minor)" }

    /// Per-sector metadata bytes free for a tag (dm-crypt's or dm-integrity's): all
    /// of it under the `nop` profile, the tag size of a dm-integrity layer beneath;
    /// none otherwise (no metadata, or protection information in it). The one rule.
    public var freeTagBytes: Int {
        switch integrity {
        case .nop: return metadataBytes ?? 0
        case .dmIntegrityTags: return integrityTagSize
        case .none, .protectionInformation, .other: return 0
        }
    }

    /// Protection information (T10 DIF / NVMe PI) occupies the metadata.
    public var hasProtectionInformation: Bool {
        if case .protectionInformation = integrity { return true }
        return false
    }

    public var isNVMeNamespace: Bool {
        if case .nvmeNamespace = kind { return true }
        return false
    }

    /// What the device is, for messages ("a loop device", "partition 1 of nvme0n1").
    public var kindDescription: String {
        switch kind {
        case .nvmeNamespace(let nsid): return "NVMe namespace \(nsid)"
        case .partition(let disk, let number): return "partition \(number) of \(disk)"
        case .loop: return "a loop device"
        case .deviceMapper(let dmName): return "device-mapper device '\(dmName)'"
        case .md: return "an md RAID device"
        case .scsiDisk: return "a SCSI disk"
        case .nullBlock: return "a null_blk device"
        case .other: return "a block device"
        }
    }
}

/// A block device that holds another (sysfs `holders/`): a mapping or an md array.
public struct Holder: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The kernel name: "dm-3", "md0".
    public var kernelName: String
    /// The device-mapper name, for a mapping.
    public var mappingName: String?

    public init(kernelName: String, mappingName: String? = nil) {
        self.kernelName = kernelName
        self.mappingName = mappingName
    }

    /// "vol (dm-3)", "md0".
    public var description: String { mappingName.map { "\($0) (\(kernelName))" } ?? kernelName }
}

/// A block device named on the command line: the path as the user gave it, and the device.
public struct BlockTarget: Sendable, Equatable {
    public var path: String
    public var device: BlockDevice

    public init(path: String, device: BlockDevice) {
        self.path = path
        self.device = device
    }

    public var majorMinor: String { device.majorMinor }

    /// The facts of a dm-integrity layer planned on top of this device (`tagSize`
    /// bytes per block of `blockSize`), for validating the crypt target above it.
    public func underIntegrity(tagSize: Int, blockSize: Int, lengthSectors: UInt64) -> BlockTarget {
        BlockTarget(path: "\(path) (dm-integrity layer)",
                    device: BlockDevice(name: "", major: 0, minor: 0, kind: .deviceMapper(name: ""),
                                        logicalBlockSize: blockSize, physicalBlockSize: blockSize,
                                        sizeBytes: lengthSectors * 512, metadataBytes: tagSize,
                                        integrity: .dmIntegrityTags, integrityTagSize: tagSize))
    }
}
