/// Plain data about LUKS2 volumes, shared by the LUKS wrapper, the Kit and the commands.

/// How a LUKS2 volume keeps its integrity tags.
public enum IntegrityLayout: Sendable, Equatable {
    /// In the device's own per-sector metadata (LUKS2 requirement `inline-hw-tags`).
    case inlineHardware
    /// In a dm-integrity layer; `journal` false means no-journal (persistent flag).
    case dmIntegrity(journal: Bool)
    /// No integrity at all.
    case none

    /// As status, dump and scrub print it: inline-hw, dm-integrity-journal,
    /// dm-integrity-no-journal, none.
    public var tagsName: String {
        switch self {
        case .inlineHardware: return "inline-hw"
        case .dmIntegrity(let journal): return "dm-integrity-" + (journal ? "journal" : "no-journal")
        case .none: return "none"
        }
    }
}

/// What a LUKS2 header (and, when active, the mapping) says.
public struct LUKSInfo: Sendable, Equatable {
    public init(type: String, uuid: String, cipher: String, cipherMode: String, integrity: String?, tagBytes: Int,
                layout: IntegrityLayout, sectorSize: Int, keyBytes: Int, device: String, dataOffset: UInt64,
                keyslots: [Int], label: String, subsystem: String, requirements: [String] = []) {
        self.type = type; self.uuid = uuid; self.cipher = cipher; self.cipherMode = cipherMode
        self.integrity = integrity; self.tagBytes = tagBytes; self.layout = layout; self.sectorSize = sectorSize
        self.keyBytes = keyBytes; self.device = device; self.dataOffset = dataOffset; self.keyslots = keyslots
        self.label = label; self.subsystem = subsystem; self.requirements = requirements
    }

    public var type: String
    public var uuid: String
    public var cipher: String
    public var cipherMode: String
    public var integrity: String?
    public var tagBytes: Int
    public var layout: IntegrityLayout
    public var sectorSize: Int
    public var keyBytes: Int
    public var device: String
    /// Data offset in 512-byte sectors.
    public var dataOffset: UInt64
    public var keyslots: [Int]
    public var label: String
    public var subsystem: String
    /// The header's mandatory requirements, by libcryptsetup's names
    /// (`inline-hw-tags`, `online-reencrypt`, ...); `unknown` for one this
    /// libcryptsetup does not know (it will not open such a volume).
    public var requirements: [String]

    public var hasUnknownRequirement: Bool { requirements.contains("unknown") }

    /// 8-4-4-4-12 hex digits, as LUKS2 requires (libcryptsetup derives the mapping's
    /// device-mapper UUID and the keyring key's description from it).
    public var hasWellFormedUUID: Bool {
        let chars = Array(uuid)
        guard chars.count == 36 else { return false }
        return chars.enumerated().allSatisfy { i, c in [8, 13, 18, 23].contains(i) ? c == "-" : c.isHexDigit }
    }
}

public struct ActiveVolume: Sendable, Equatable {
    public init(offset: UInt64, size: UInt64, readOnly: Bool, noJournal: Bool, busy: Bool) {
        self.offset = offset; self.size = size; self.readOnly = readOnly; self.noJournal = noJournal; self.busy = busy
    }

    public var offset: UInt64
    public var size: UInt64
    public var readOnly: Bool
    public var noJournal: Bool
    public var busy: Bool
}


/// How far an initialisation wipe has come.
public struct WipeProgress: Sendable {
    /// Which pass: initialising the tags, reading every sector back, or a scrub.
    public enum Phase: String, Sendable { case wipe, verify, scrub }

    public init(done: UInt64, total: UInt64, seconds: Double, phase: Phase = .wipe) {
        self.done = done; self.total = total; self.seconds = seconds; self.phase = phase
    }

    public var phase: Phase
    /// Requests in flight at the end (the depth the wipe settled on).
    public var inFlight: Int?
    /// The wipe's measured ramp: each depth tried and its rate.
    public struct RampStep: Sendable, Equatable { public var inFlight: Int; public var bytesPerSecond: Double
        public init(inFlight: Int, bytesPerSecond: Double) { self.inFlight = inFlight; self.bytesPerSecond = bytesPerSecond } }
    public var ramp: [RampStep] = []

    public var done: UInt64
    public var total: UInt64
    public var seconds: Double
    public var bytesPerSecond: Double { seconds > 0 ? Double(done) / seconds : 0 }
}

