/// A block of an open volume that failed to read during a scrub.
public struct DamagedBlock: Equatable, Sendable {
    public enum Cause: String, Sendable {
        /// EILSEQ (EBADMSG inside the kernel): the data does not match its tag —
        /// corrupted or altered on the device, or never written since format.
        case authentication
        /// Any other read error (EIO: the device failed the read).
        case readError = "read-error"
    }

    /// Byte offset in the volume (the mapping /dev/mapper/NAME).
    public var offset: UInt64
    public var errno: Int32
    public var cause: Cause { errno == 84 || errno == 74 ? .authentication : .readError }   // EILSEQ, EBADMSG

    public init(offset: UInt64, errno: Int32) {
        self.offset = offset
        self.errno = errno
    }
}

/// What owns a volume block in the filesystem on it.
public enum BlockOwner: Equatable, Hashable, Sendable {
    /// A regular file's data (its path under the mount point).
    case file(String)
    /// A directory's blocks.
    case directory(String)
    /// In use by the filesystem but in no file: superblock, group descriptors,
    /// bitmaps, inode tables, journal.
    case metadata
    /// Not in use (free space).
    case free
    /// Not known, and why ("no filesystem", "not mounted", "XFS: free space or metadata").
    case unknown(String)

    public var kind: String {
        switch self {
        case .file: return "file"
        case .directory: return "directory"
        case .metadata: return "filesystem metadata"
        case .free: return "free space"
        case .unknown: return "unknown"
        }
    }

    public var path: String? {
        switch self {
        case .file(let p), .directory(let p): return p
        default: return nil
        }
    }

    /// Rewriting it with zeros loses nothing: no file or filesystem structure uses it.
    public var safeToRewrite: Bool { self == .free }
}

/// Consecutive damaged blocks with the same cause and owner.
public struct DamagedRange: Equatable, Sendable {
    /// Byte offset in the volume of the first block.
    public var offset: UInt64
    public var blocks: Int
    public var cause: DamagedBlock.Cause
    public var owner: BlockOwner
    /// The first block's logical block on the raw device, where the volume's data
    /// lies there in one piece (inline tags); nil for dm-integrity's interleaved layout.
    public var rawBlock: UInt64?
    /// Rewritten with zeros through the mapping (--rewrite-free), and readable again.
    public var rewritten = false

    /// Groups sorted blocks into ranges.
    public static func group(_ damaged: [DamagedBlock], blockBytes: Int, owner: (UInt64) -> BlockOwner,
                             rawBlock: (UInt64) -> UInt64?) -> [DamagedRange] {
        var ranges = [DamagedRange]()
        for b in damaged.sorted(by: { $0.offset < $1.offset }) {
            let o = owner(b.offset)
            if var last = ranges.last, last.offset + UInt64(last.blocks * blockBytes) == b.offset,
               last.cause == b.cause, last.owner == o {
                last.blocks += 1
                ranges[ranges.count - 1] = last
            } else {
                ranges.append(DamagedRange(offset: b.offset, blocks: 1, cause: b.cause, owner: o, rawBlock: rawBlock(b.offset)))
            }
        }
        return ranges
    }
}

/// Where an interrupted scrub stopped, kept under /var/lib/swcrypt/scrub by the
/// volume's LUKS2 UUID so that the next scrub of that volume goes on from there
/// (after a reboot too). A checkpoint of another size or block size is not used.
public struct ScrubCheckpoint: Equatable, Sendable {
    public var uuid: String
    public var volumeBytes: UInt64
    public var blockBytes: Int
    /// Bytes from the start already read.
    public var position: UInt64
    public var damaged: [DamagedBlock]
    /// Seconds spent reading so far, over every run.
    public var seconds: Double

    public init(uuid: String, volumeBytes: UInt64, blockBytes: Int, position: UInt64 = 0,
                damaged: [DamagedBlock] = [], seconds: Double = 0) {
        self.uuid = uuid; self.volumeBytes = volumeBytes; self.blockBytes = blockBytes
        self.position = position; self.damaged = damaged; self.seconds = seconds
    }

    public var json: String {
        JSONValue.object([
            ("uuid", .string(uuid)), ("volume_bytes", .int(Int(volumeBytes))), ("block_bytes", .int(blockBytes)),
            ("position", .int(Int(position))), ("seconds", .double(seconds)),
            ("damaged", .array(damaged.map { .object([("offset", .int(Int($0.offset))), ("errno", .int(Int($0.errno)))]) })),
        ]).compactText + "\n"
    }

    /// A checkpoint file's contents; nil when it is not one.
    public init?(json text: String) {
        guard let v = try? JSONValue(parsing: text),
              case .string(let uuid)? = v["uuid"], case .int(let size)? = v["volume_bytes"],
              case .int(let block)? = v["block_bytes"], case .int(let position)? = v["position"],
              case .array(let list)? = v["damaged"], size >= 0, block > 0, position >= 0, position <= size else { return nil }
        var seconds = 0.0
        switch v["seconds"] {
        case .double(let s)?: seconds = s
        case .int(let s)?: seconds = Double(s)
        default: break
        }
        var damaged = [DamagedBlock]()
        for item in list {
            guard case .int(let offset)? = item["offset"], case .int(let errno)? = item["errno"], offset >= 0 else { return nil }
            damaged.append(DamagedBlock(offset: UInt64(offset), errno: Int32(errno)))
        }
        self.init(uuid: uuid, volumeBytes: UInt64(size), blockBytes: block, position: UInt64(position),
                  damaged: damaged, seconds: seconds)
    }
}
