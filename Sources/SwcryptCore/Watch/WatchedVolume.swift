/// An open LUKS2 volume as `swcrypt watch` (and status) attribute kernel lines to
/// it: the kernel names of every device its failures can be logged under.
public struct WatchedVolume: Sendable, Equatable {
    public var name: String
    public var uuid: String
    /// The LUKS2 device, as the header's owner sees it ("/dev/nvme0n1").
    public var dataDevice: String
    /// Its kernel name and, with native NVMe multipath, its paths ("nvme0n1", "nvme0c0n1").
    public var dataKernelNames: Set<String>
    /// The crypt mapping and, with the dm-integrity layout, its integrity layer ("dm-3", "dm-2").
    public var mappingKernelNames: Set<String>
    public var layout: IntegrityLayout
    /// Where the encrypted data starts on the device, in 512-byte sectors.
    public var dataOffset: UInt64
    /// The data device's logical block size (an NVMe LBA).
    public var logicalBlockBytes: Int

    public init(name: String, uuid: String, dataDevice: String, dataKernelNames: Set<String>, mappingKernelNames: Set<String>,
                layout: IntegrityLayout, dataOffset: UInt64, logicalBlockBytes: Int) {
        self.name = name; self.uuid = uuid; self.dataDevice = dataDevice
        self.dataKernelNames = dataKernelNames; self.mappingKernelNames = mappingKernelNames
        self.layout = layout; self.dataOffset = dataOffset; self.logicalBlockBytes = logicalBlockBytes
    }

    public var kernelNames: Set<String> { dataKernelNames.union(mappingKernelNames) }

    /// Whether the line's device is one of this volume's.
    public func owns(_ f: IntegrityFailure) -> Bool { kernelNames.contains(f.kernelDevice) }

    /// The failure's place in the volume, in its 512-byte sectors. dm-crypt and
    /// dm-integrity log the volume's own sector. An NVMe LBA maps to the volume
    /// only where the volume is one piece of the device after the header (inline
    /// tags, or no tags); nil in the header area and on the dm-integrity layout,
    /// whose data and tags interleave.
    public func volumeSector(_ f: IntegrityFailure) -> UInt64? {
        if let s = f.sector { return s }
        guard let lba = f.lba else { return nil }
        if case .dmIntegrity = layout { return nil }
        let deviceSector = lba * UInt64(logicalBlockBytes) / 512
        return deviceSector >= dataOffset ? deviceSector - dataOffset : nil
    }
}

/// One failed read as `swcrypt watch` reports it.
public struct IntegrityEvent: Sendable, Equatable {
    public var failure: IntegrityFailure
    public var record: KernelLogRecord
    /// When the kernel logged it, in seconds since the epoch.
    public var time: Double
    /// nil: no open volume uses the device in the line.
    public var volume: WatchedVolume?
    public var volumeSector: UInt64?

    public init(failure: IntegrityFailure, record: KernelLogRecord, time: Double, among volumes: [WatchedVolume]) {
        self.failure = failure
        self.record = record
        self.time = time
        volume = volumes.first { $0.owns(failure) }
        volumeSector = volume?.volumeSector(failure)
    }

    /// What makes two lines the same failing read: the volume (or the device), the
    /// kind and the place.
    public var key: String {
        "\(volume?.uuid ?? failure.kernelDevice) \(failure.kind.rawValue) \(volumeSector ?? failure.sector ?? failure.lba ?? 0)"
    }
}

/// One failing read gives several kernel lines: a page-cache read that fails is
/// retried block by block, and every retry logs again. Lines with the same key
/// within `window` seconds of the first are the same event.
public struct IntegrityEventFilter: Sendable {
    public var window: Double
    var firstSeen: [String: Double] = [:]

    public init(window: Double) { self.window = window }

    /// True for the first line of an event; false for its repeats.
    public mutating func isNew(_ e: IntegrityEvent) -> Bool {
        firstSeen = firstSeen.filter { e.time - $0.value < window }
        if firstSeen[e.key] != nil { return false }
        firstSeen[e.key] = e.time
        return true
    }
}
