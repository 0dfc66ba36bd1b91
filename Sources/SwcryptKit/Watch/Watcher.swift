import SwcryptCore
import SwcryptSystem
import SwcryptLUKS
import SwcryptDeviceMapper
#if canImport(Glibc)
import Glibc
#endif

/// `swcrypt watch`: where to keep the counters and publish them, and which
/// kernel lines are one event.
public struct WatchRequest: Sendable {
    public var stateDirectory = "/var/lib/swcrypt/watch"
    /// A Prometheus textfile-collector file (node_exporter), rewritten when a
    /// counter changes; nil: none.
    public var textfile: String?
    /// Lines for the same volume, kind and sector within this many seconds are one event.
    public var window = 10.0
    public var kernelLog = "/dev/kmsg"
    /// On the first start in a boot, also count the failures still in the kernel's
    /// ring buffer (attributed by the devices' names now, which a dm-N name reused
    /// since can get wrong). Without it the first start counts from now on; a
    /// restart in the same boot always goes on from where the last one stopped.
    public var sinceBoot = false

    public init() {}

    public var countersPath: String { "\(stateDirectory)/counters.json" }
}

/// Follows the kernel log for failed reads (`IntegrityFailure`), attributes each
/// to an open LUKS2 volume, and keeps persistent per-volume counters.
public final class Watcher {
    let sysfs = Sysfs()

    public init() {}

    /// The counters a watch left, or nil when none ran here.
    public static func counters(in directory: String = WatchRequest().stateDirectory) -> WatchCounters? {
        Files.readText("\(directory)/counters.json").flatMap { WatchCounters(json: $0) }
    }

    /// Whether stdout is the journal (a systemd service's), so events go there as entries.
    public static var standardOutputIsJournal: Bool { Journal.isStandardOutput }

    /// One structured journal entry.
    public static func journal(_ fields: [(String, String)]) throws(SwcryptError) { try Journal.send(fields) }

    /// The open LUKS2 volumes (device-mapper UUID "CRYPT-LUKS2-..."), cryptsetup's and swcrypt's.
    public func volumes() -> [WatchedVolume] {
        guard let dm = try? DeviceMapper(), let all = try? dm.list() else { return [] }
        return all.filter { $0.uuid.hasPrefix("CRYPT-LUKS2-") && !$0.name.hasSuffix(StackNaming.integritySuffix) }
            .compactMap { volume(name: $0.name) }
    }

    /// One open volume's devices, as the kernel names them in its log lines.
    public func volume(name: String) -> WatchedVolume? {
        guard let device = try? LUKSDevice(activeName: name) else { return nil }
        let info = device.info
        var data = Set<String>()
        var logicalBlockBytes = 512
        if let k = sysfs.kernelName(ofPath: info.device) {
            data.insert(k)
            data.formUnion(sysfs.multipathPaths(of: k))
            logicalBlockBytes = sysfs.blockDevice(name: k)?.logicalBlockSize ?? 512
        }
        var mappings = Set<String>()
        for path in ["/dev/mapper/\(name)", "/dev/mapper/\(name)\(StackNaming.integritySuffix)"] {
            if let k = sysfs.kernelName(ofPath: path) { mappings.insert(k) }
        }
        return WatchedVolume(name: name, uuid: info.uuid, dataDevice: info.device, dataKernelNames: data,
                             mappingKernelNames: mappings, layout: info.layout, dataOffset: info.dataOffset,
                             logicalBlockBytes: logicalBlockBytes)
    }

    /// Runs until SIGINT, SIGTERM or SIGHUP. `started` is called once the kernel
    /// log is open and the counters loaded; `event` for each new failed read;
    /// `publish` renders the textfile. Returns the counters as saved at the end.
    @discardableResult
    public func run(_ r: WatchRequest, started: (WatchCounters, [WatchedVolume]) -> Void = { _, _ in },
                    publish: (WatchCounters, [WatchedVolume]) -> String,
                    event: (IntegrityEvent) -> Void) throws(SwcryptError) -> WatchCounters {
        guard Privileges.isRoot else { throw SwcryptError(.permission, "watch needs root (it reads /dev/kmsg and the mappings)") }
        let reader = try KernelLogReader(path: r.kernelLog)
        try Files.makeDirectories(r.stateDirectory)
        if let t = r.textfile, let slash = t.lastIndex(of: "/"), slash != t.startIndex {
            try Files.makeDirectories(String(t[..<slash]))
        }
        let bootID = Files.readText("/proc/sys/kernel/random/boot_id")?.split(separator: "\n").first.map(String.init) ?? "unknown"
        var counters = Self.counters(in: r.stateDirectory) ?? WatchCounters(bootID: bootID, since: Self.now())
        counters.startBoot(bootID)
        if counters.lastSequence == nil && !r.sinceBoot { reader.skipToEnd() }
        var volumes = self.volumes()
        volumes.forEach { counters.track($0) }

        func save() throws(SwcryptError) {
            try Files.write(r.countersPath, counters.json)
            if let t = r.textfile { try Files.write(t, publish(counters, volumes)) }
        }
        try save()
        started(counters, volumes)

        Interrupt.install()
        defer { Interrupt.restore() }
        var filter = IntegrityEventFilter(window: r.window)
        var lastSave = ContinuousClock.now
        var lastRefresh = ContinuousClock.now
        var unsaved = false
        while !Interrupt.requested {
            let records = reader.next(waitingUpTo: 1000)
            var changed = false
            for record in records {
                if let last = counters.lastSequence, record.sequence <= last { continue }
                counters.lastSequence = record.sequence
                unsaved = true
                if let n = IntegrityFailure.suppressed(record.message) {
                    counters.suppressed += n
                    changed = true
                    continue
                }
                guard let failure = IntegrityFailure(line: record.message) else { continue }
                if !volumes.contains(where: { $0.owns(failure) }) {
                    // Opened after the watch started (or not a volume at all).
                    volumes = self.volumes()
                    volumes.forEach { counters.track($0) }
                    lastRefresh = ContinuousClock.now
                }
                let e = IntegrityEvent(failure: failure, record: record, time: Self.wallTime(record.microseconds), among: volumes)
                guard filter.isNew(e) else { continue }
                counters.record(e)
                changed = true
                event(e)
            }
            if ContinuousClock.now - lastRefresh >= .seconds(30) {
                // Volumes opened since: their zero counters appear in the textfile.
                let now = self.volumes()
                if now.map(\.uuid) != volumes.map(\.uuid) {
                    volumes = now
                    volumes.forEach { counters.track($0) }
                    changed = true
                }
                lastRefresh = ContinuousClock.now
            }
            if changed || (unsaved && ContinuousClock.now - lastSave >= .seconds(60)) {
                do { try save() } catch {
                    Diagnostics.shared.log(.warning, "watch", "could not save the counters: \(error.description)")
                }
                lastSave = ContinuousClock.now
                unsaved = false
            }
        }
        try save()
        return counters
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// A kernel log timestamp (monotonic microseconds) as seconds since the epoch.
    static func wallTime(_ microseconds: UInt64) -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let monotonic = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        return now() - (monotonic - Double(microseconds) / 1e6)
    }
}
