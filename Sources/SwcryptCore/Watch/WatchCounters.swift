/// What `swcrypt watch` has counted, kept across restarts and reboots in
/// /var/lib/swcrypt/watch/counters.json: per volume (by LUKS2 UUID) the failed
/// reads by kind and the last one, plus where in this boot's kernel log it got to,
/// so that a restarted watch neither misses nor counts a line twice.
public struct WatchCounters: Sendable, Equatable {
    public struct Last: Sendable, Equatable {
        public var time: Double
        public var kind: IntegrityFailure.Kind
        public var kernelDevice: String
        public var volumeSector: UInt64?

        public init(time: Double, kind: IntegrityFailure.Kind, kernelDevice: String, volumeSector: UInt64?) {
            self.time = time; self.kind = kind; self.kernelDevice = kernelDevice; self.volumeSector = volumeSector
        }
    }

    public struct Volume: Sendable, Equatable {
        public var uuid: String
        /// The mapping name it had when last seen.
        public var name: String
        public var counts: [IntegrityFailure.Kind: Int] = [:]
        public var last: Last?

        public init(uuid: String, name: String) { self.uuid = uuid; self.name = name }

        public var total: Int { counts.values.reduce(0, +) }
    }

    /// /proc/sys/kernel/random/boot_id of the boot `lastSequence` belongs to.
    public var bootID: String
    /// The last kernel log record read in that boot.
    public var lastSequence: UInt64?
    /// When counting began (seconds since the epoch).
    public var since: Double
    public var volumes: [String: Volume] = [:]
    /// Failures on devices no open volume used, and lines the kernel's rate limit dropped.
    public var unattributed = 0
    public var suppressed = 0

    public init(bootID: String, since: Double) { self.bootID = bootID; self.since = since }

    /// A new boot: keep the counts, read that boot's log from its start.
    public mutating func startBoot(_ id: String) {
        guard id != bootID else { return }
        bootID = id
        lastSequence = nil
    }

    /// Makes sure an open volume has its (zero) counters, with its current name.
    public mutating func track(_ v: WatchedVolume) {
        volumes[v.uuid, default: Volume(uuid: v.uuid, name: v.name)].name = v.name
    }

    public mutating func record(_ e: IntegrityEvent) {
        guard let v = e.volume else { unattributed += 1; return }
        track(v)
        volumes[v.uuid]!.counts[e.failure.kind, default: 0] += 1
        volumes[v.uuid]!.last = Last(time: e.time, kind: e.failure.kind, kernelDevice: e.failure.kernelDevice,
                                     volumeSector: e.volumeSector)
    }

    public var json: String {
        func volume(_ v: Volume) -> JSONValue {
            var members: [(String, JSONValue)] = [("name", .string(v.name))]
            members.append(("counts", .object(IntegrityFailure.Kind.allCases.map { ($0.rawValue, .int(v.counts[$0] ?? 0)) })))
            if let l = v.last {
                var last: [(String, JSONValue)] = [("time", .double(l.time)), ("kind", .string(l.kind.rawValue)),
                                                   ("kernel_device", .string(l.kernelDevice))]
                if let s = l.volumeSector { last.append(("sector", .int(Int(s)))) }
                members.append(("last", .object(last)))
            }
            return .object(members)
        }
        var members: [(String, JSONValue)] = [("boot_id", .string(bootID))]
        if let s = lastSequence { members.append(("last_sequence", .int(Int(s)))) }
        members += [("since", .double(since)), ("unattributed", .int(unattributed)), ("suppressed", .int(suppressed)),
                    ("volumes", .object(volumes.keys.sorted().map { ($0, volume(volumes[$0]!)) }))]
        return JSONValue.object(members).indentedText + "\n"
    }

    /// A counters file's contents; nil when it is not one.
    public init?(json text: String) {
        guard let v = try? JSONValue(parsing: text), case .string(let boot)? = v["boot_id"],
              let since = Self.number(v["since"]), case .object(let list)? = v["volumes"] else { return nil }
        self.init(bootID: boot, since: since)
        if case .int(let s)? = v["last_sequence"], s >= 0 { lastSequence = UInt64(s) }
        if case .int(let n)? = v["unattributed"] { unattributed = n }
        if case .int(let n)? = v["suppressed"] { suppressed = n }
        for (uuid, item) in list {
            guard case .string(let name)? = item["name"] else { return nil }
            var volume = Volume(uuid: uuid, name: name)
            if case .object(let counts)? = item["counts"] {
                for (kind, n) in counts {
                    guard let k = IntegrityFailure.Kind(rawValue: kind), case .int(let n) = n, n >= 0 else { return nil }
                    if n > 0 { volume.counts[k] = n }
                }
            }
            if let last = item["last"] {
                guard let time = Self.number(last["time"]), case .string(let kind)? = last["kind"],
                      let k = IntegrityFailure.Kind(rawValue: kind), case .string(let device)? = last["kernel_device"] else { return nil }
                var sector: UInt64?
                if case .int(let s)? = last["sector"], s >= 0 { sector = UInt64(s) }
                volume.last = Last(time: time, kind: k, kernelDevice: device, volumeSector: sector)
            }
            volumes[uuid] = volume
        }
    }

    static func number(_ v: JSONValue?) -> Double? {
        switch v {
        case .double(let d)?: return d
        case .int(let i)?: return Double(i)
        default: return nil
        }
    }
}
