import SwcryptBlkid
import SwcryptCore
import SwcryptDeviceMapper
import SwcryptKernel
import SwcryptKeys
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Where a dm-crypt key comes from. Keys never come from argv or the environment.
public enum KeySource: Sendable, Equatable {
    /// A file holding exactly the key bytes; "-" reads standard input.
    case file(String)
    /// Fresh random bytes (throwaway CI mappings).
    case random
}

/// One layer of a planned stack, bottom first.
public struct PlannedLayer: Sendable {
    public var name: String
    public var uuid: String
    public var table: Table
    /// dm-integrity layers are created small first so the kernel formats their
    /// superblock, then grown to the data size the kernel reports.
    public var sizedByKernel: Bool
}

public struct MapPlan: Sendable {
    public var name: String
    public var stack: String
    public var layers: [PlannedLayer]
    /// Bytes of the dm-crypt key, when the top layer needs one.
    public var keySize: Int?
    public var keyDescription: String?
    public var keySource: KeySource?
    public var readOnly: Bool
    /// Devices the tables name, for the print-out.
    public var deviceNames: [String: String]
    /// Map even over a range that holds a signature libblkid knows (`--force`).
    public var force = false

    /// The tables as they will be loaded, key references only, with comments.
    public var printable: String {
        var out = [String]()
        for (m, p) in deviceNames.sorted(by: { $0.key < $1.key }) { out.append("# \(m) = \(p)") }
        for layer in layers {
            out.append("# \(layer.name) (uuid \(layer.uuid))")
            if layer.sizedByKernel {
                out.append("# length shown is the device's; dm-integrity sets the exact number of data sectors when it formats its superblock")
            }
            // Plans are checked when made (`checked`), so rendering cannot fail here.
            out.append((try? layer.table.render(masked: true)) ?? "# (a word of this table is not renderable)")
        }
        return out.joined(separator: "\n")
    }

    /// Every table renders: no word of any layer holds white space, a backslash or
    /// another character that would change how the kernel splits the table. Called
    /// on every plan before anything is touched.
    func checked() throws(SwcryptError) -> MapPlan {
        for layer in layers {
            do {
                _ = try layer.table.render(masked: true)
            } catch {
                throw SwcryptError(.failure, device: name, "refused: \(error.message)")
            }
        }
        return self
    }
}

public struct CryptMapRequest: Sendable {
    public var name: String
    public var device: String
    public var cipher: String?
    public var integrity: String?
    public var keyBits: Int?
    public var sectorSize: Int?
    public var offset: UInt64 = 0
    public var sizeSectors: UInt64?
    public var keySource: KeySource
    public var emulateMetadata: IntegrityTarget.Mode?
    public var allowDiscards = false
    public var performance = PerformanceFlags()
    public var readOnly = false
    public var allowInsecure = false
    /// Check through AF_ALG that the kernel has the cipher before anything is created.
    public var probeCipher = true

    public init(name: String, device: String, keySource: KeySource) {
        self.name = name
        self.device = device
        self.keySource = keySource
    }
}

public struct IntegrityMapRequest: Sendable {
    public var name: String
    public var device: String
    /// The target as asked for: its device is filled in from `device`; a tag size
    /// of 0 means the internal hash's; no block size means the device's default.
    public var target: IntegrityTarget
    public var readOnly = false

    public init(name: String, device: String, target: IntegrityTarget) {
        self.name = name
        self.device = device
        self.target = target
    }
}

/// A mapping swcrypt made, as `ls` shows it.
public struct StackSummary: Sendable, Equatable {
    public var name: String
    public var stack: String
    public var layers: [MappingInfo]
    public var devicePath: String { "/dev/mapper/\(name)" }
}

/// Plans, validates and activates device-mapper stacks; removes whole stacks.
public final class Mapper {
    public let dm: DeviceMapper
    public let resolver: BlockResolver
    private var cachedVersions: KernelTargets?

    /// A mapper for commands that need root (device-mapper ioctls, keyring logon keys).
    public static func privileged() throws(SwcryptError) -> Mapper {
        guard Privileges.isRoot else {
            throw SwcryptError(.permission, "device-mapper needs root")
        }
        return try Mapper()
    }

    public init(resolver: BlockResolver = BlockResolver()) throws(SwcryptError) {
        do { self.dm = try DeviceMapper() } catch { throw SwcryptError(dm: error) }
        self.resolver = resolver
    }

    /// Target versions, probed once (loading the modules swcrypt needs first).
    public func kernelTargets() throws(SwcryptError) -> KernelTargets {
        if let cachedVersions { return cachedVersions }
        for module in ["dm_crypt", "dm_integrity", "dm_flakey"] { Modules().loadIfAvailable(module) }
        do {
            let v = try dm.targetVersions()
            cachedVersions = v
            return v
        } catch {
            throw SwcryptError(dm: error)
        }
    }

    // MARK: - Planning

    public func planCrypt(_ r: CryptMapRequest) throws(SwcryptError) -> MapPlan {
        try StackNaming.validate(name: r.name)
        let target = try resolver.resolve(r.device)
        let kernel = try kernelTargets()

        let (spec, integrity) = try CipherChoice.choose(r.cipher, r.integrity, device: r.device)
        let cipher = KernelCipher(spec, integrity: integrity)
        // When AF_ALG cannot tell, the table load reports the kernel's own reason.
        if r.probeCipher { try CipherChoice.requireKernelSupport(cipher, device: r.device) }
        let keySize = try CipherChoice.keyBytes(spec, integrity, bits: r.keyBits, device: r.device)
        let stack = StackNaming.newStackID()
        let description = "swcrypt:\(r.name)"
        let tagBytes = integrity.map { AuthenticatedCipher(cipher: spec, integrity: $0).metadataBytes }

        var layers = [PlannedLayer]()
        var cryptFacts = target
        var lowerDevice = target.majorMinor
        var available = (target.device.sizeBytes / 512)
        var names = [target.majorMinor: target.path]

        if let mode = r.emulateMetadata {
            guard let tagBytes else {
                throw SwcryptError(.failure, device: r.device, "--emulate-metadata needs an authenticated cipher (--integrity)")
            }
            let blockSize = r.sectorSize ?? defaultSectorSize(target)
            var layer = IntegrityTarget(device: target.majorMinor, offset: 0, tagSize: tagBytes, mode: mode)
            layer.blockSize = blockSize
            layer.fixPadding = true
            layer.allowDiscards = r.allowDiscards
            try validate(.integrity(layer), length: available, on: target, kernel: kernel, insecure: r.allowInsecure)
            let name = r.name + StackNaming.integritySuffix
            layers.append(PlannedLayer(name: name, uuid: StackNaming.uuid(layer: .integrity, stack: stack, name: name),
                                       table: Table([TableLine(length: available, target: .integrity(layer))]),
                                       sizedByKernel: true))
            cryptFacts = target.underIntegrity(tagSize: layer.tagSize, blockSize: layer.blockSize ?? 512, lengthSectors: available)
            cryptFacts.path = "/dev/mapper/\(name)"
            lowerDevice = "/dev/mapper/\(name)"
        }

        let sectorSize = r.sectorSize ?? defaultSectorSize(target)
        var crypt = CryptTarget(cipher: cipher, key: .keyring(size: keySize, type: "logon", description: description),
                                device: lowerDevice, offset: r.offset,
                                integrity: tagBytes.map { .init(bytes: $0, type: "aead") },
                                sectorSize: sectorSize)
        crypt.allowDiscards = r.allowDiscards
        crypt.performance = r.performance
        guard available > r.offset else {
            throw SwcryptError(.failure, device: r.device, "offset \(r.offset) sectors is beyond the device's \(available) sectors")
        }
        available -= r.offset
        let perSector = UInt64(sectorSize / 512)
        var length = r.sizeSectors ?? (available / perSector * perSector)
        if r.sizeSectors == nil && length == 0 {
            throw SwcryptError(.wrongDevice, device: r.device, "too small for one \(sectorSize)-byte sector")
        }
        if let s = r.sizeSectors, s > available {
            throw SwcryptError(.failure, device: r.device, "--size \(s) sectors exceeds the \(available) sectors available")
        }
        length = max(length, 1)
        // With a dm-integrity layer the crypt target is validated against the layer's facts.
        try validate(.crypt(crypt), length: length, on: cryptFacts, kernel: kernel, insecure: r.allowInsecure)
        layers.append(PlannedLayer(name: r.name, uuid: StackNaming.uuid(layer: .crypt, stack: stack, name: r.name),
                                   table: Table([TableLine(length: length, target: .crypt(crypt))]), sizedByKernel: false))
        names[target.majorMinor] = target.path
        return try MapPlan(name: r.name, stack: stack, layers: layers, keySize: keySize, keyDescription: description,
                       keySource: r.keySource, readOnly: r.readOnly, deviceNames: names).checked()
    }

    public func planIntegrity(_ r: IntegrityMapRequest) throws(SwcryptError) -> MapPlan {
        try StackNaming.validate(name: r.name)
        let target = try resolver.resolve(r.device)
        let kernel = try kernelTargets()
        let hashTag = IntegrityTarget.internalHashTagBytes
        var t = r.target
        if t.tagSize == 0 { t.tagSize = t.internalHash.flatMap { hashTag[$0] } ?? 0 }
        guard t.tagSize > 0 else {
            throw SwcryptError(.failure, device: r.device, "give --tag-size, or --internal-hash with a known size (\(hashTag.keys.sorted().joined(separator: ", ")))")
        }
        t.device = target.majorMinor
        t.blockSize = t.blockSize ?? defaultSectorSize(target)
        if t.mode == .inline { t.journalSectors = t.journalSectors ?? 0 }
        t.fixPadding = true
        let length = target.device.sizeBytes / 512
        try validate(.integrity(t), length: length, on: target, kernel: kernel, insecure: false)
        let stack = StackNaming.newStackID()
        return try MapPlan(name: r.name, stack: stack,
                       layers: [PlannedLayer(name: r.name, uuid: StackNaming.uuid(layer: .integrity, stack: stack, name: r.name),
                                             table: Table([TableLine(length: length, target: .integrity(t))]), sizedByKernel: true)],
                       keySize: nil, keyDescription: nil, keySource: nil, readOnly: r.readOnly,
                       deviceNames: [target.majorMinor: target.path]).checked()
    }

    /// Linear concatenation of whole devices (passes inline-encryption capability through).
    public func planPassthrough(name: String, devices: [String], readOnly: Bool) throws(SwcryptError) -> MapPlan {
        try StackNaming.validate(name: name)
        guard !devices.isEmpty else { throw SwcryptError(.failure, "give at least one device") }
        let kernel = try kernelTargets()
        var lines = [TableLine]()
        var start: UInt64 = 0
        var names = [String: String]()
        // Every segment must be a whole number of the largest logical block size.
        let targets = try devices.map { (p: String) throws(SwcryptError) -> BlockTarget in try resolver.resolve(p) }
        let unit = UInt64(targets.map(\.device.logicalBlockSize).max() ?? 512) / 512
        for t in targets {
            let length = (t.device.sizeBytes / 512) / unit * unit
            guard length > 0 else { throw SwcryptError(.wrongDevice, device: t.path, "has no usable sectors") }
            let target = Target.linear(LinearTarget(device: t.majorMinor))
            try validate(target, length: length, on: t, kernel: kernel, insecure: false)
            lines.append(TableLine(start: start, length: length, target: target))
            start += length
            names[t.majorMinor] = t.path
        }
        let stack = StackNaming.newStackID()
        return try MapPlan(name: name, stack: stack,
                       layers: [PlannedLayer(name: name, uuid: StackNaming.uuid(layer: .linear, stack: stack, name: name),
                                             table: Table(lines), sizedByKernel: false)],
                       keySize: nil, keyDescription: nil, keySource: nil, readOnly: readOnly, deviceNames: names).checked()
    }

    /// A new table for a live passthrough mapping swcrypt made (e.g. one more
    /// device appended), planned under the mapping's own name and dm UUID. Before
    /// anything is touched it predicts whether the kernel would refuse the load
    /// for shrinking the inline-encryption capability, and says what would be lost.
    public func planPassthroughReload(name: String, devices: [String]) throws(SwcryptError) -> MapPlan {
        let found: MappingInfo?
        do { found = try dm.info(name: name) } catch { throw SwcryptError(dm: error) }
        guard let live = found else { throw SwcryptError(.wrongDevice, device: name, "no such mapping to reload") }
        guard let parsed = StackNaming.parse(uuid: live.uuid), parsed.layer == .linear else {
            throw SwcryptError(.wrongDevice, device: name, "not a passthrough mapping made by swcrypt (dm uuid '\(live.uuid)'); only those are reloaded")
        }
        var plan = try planPassthrough(name: name, devices: devices, readOnly: live.readOnly)
        plan.stack = parsed.stack
        plan.layers[0].uuid = live.uuid
        guard let liveDevice = resolver.sysfs.blockDevice(major: live.major, minor: live.minor) else {
            throw SwcryptError(.failure, device: name, "\(live.kernelName) is not in sysfs")
        }
        let targets = try devices.map { (p: String) throws(SwcryptError) -> BlockTarget in try resolver.resolve(p) }
        let lost = resolver.sysfs.passthroughReloadLosses(live: liveDevice, devices: targets.map(\.device))
        if !lost.isEmpty {
            throw SwcryptError(.failure, device: name,
                               "reload refused before touching anything: the new table over \(devices.joined(separator: ", ")) would drop inline-encryption capability the live mapping has (\(lost.joined(separator: "; "))); the kernel refuses such loads ('Inline encryption capabilities of new DM table were more restrictive than the old table's')")
        }
        return plan
    }

    /// Loads the plan's single table into the live mapping and swaps it in.
    /// Devices must be unused except by this mapping itself.
    @discardableResult
    public func reload(_ plan: MapPlan) throws(SwcryptError) -> MappingInfo {
        guard plan.layers.count == 1 else { throw SwcryptError(.failure, device: plan.name, "only single-layer mappings are reloaded") }
        let live = try requireInfo(plan.name)
        for dev in plan.layers[0].table.lines.flatMap(\.target.devices) {
            var t = try resolveTableDevice(dev)
            // The mapping being reloaded may hold its own devices.
            t.device.holders.removeAll { $0.kernelName == live.kernelName }
            try resolver.requireUnused(t)
        }
        do {
            try dm.reload(name: plan.name, table: plan.layers[0].table)
            try dm.resume(name: plan.name)
        } catch {
            throw SwcryptError(dm: error)
        }
        return try requireInfo(plan.name)
    }

    /// A raw table from a file: parsed, every device resolved and every line
    /// validated; keys must be keyring references.
    public func planTable(name: String, text: String, readOnly: Bool, allowInsecure: Bool) throws(SwcryptError) -> MapPlan {
        try StackNaming.validate(name: name)
        let table: Table
        do { table = try Table.parse(text) } catch {
            throw SwcryptError(.failure, device: name, "bad table: \(error.message)")
        }
        let kernel = try kernelTargets()
        var names = [String: String]()
        var resolved = [TableLine]()
        for line in table.lines {
            var numbers = [String: String]()
            for dev in line.target.devices {
                let t = try resolveTableDevice(dev)
                names[t.majorMinor] = t.path
                numbers[dev] = t.majorMinor
                var facts = t
                facts.path = dev
                try validate(line.target, length: line.length, on: facts, kernel: kernel, insecure: allowInsecure)
            }
            // Bound to the devices validated now, by number: a path that later names
            // another device (a /dev/mapper link, a symlink) cannot change the table,
            // and every device is locked and checked at activation, whatever its path.
            var bound = line
            bound.target = line.target.replacingDevices { numbers[$0] ?? $0 }
            resolved.append(bound)
        }
        let stack = StackNaming.newStackID()
        return try MapPlan(name: name, stack: stack,
                       layers: [PlannedLayer(name: name, uuid: StackNaming.uuid(layer: .table, stack: stack, name: name),
                                             table: Table(resolved), sizedByKernel: false)],
                       keySize: nil, keyDescription: nil, keySource: nil, readOnly: readOnly, deviceNames: names).checked()
    }

    // MARK: - Activation

    /// Creates every layer, bottom first; if any step fails, removes what was
    /// created and the key, and reports the kernel's reason.
    @discardableResult
    public func activate(_ plan: MapPlan) throws(SwcryptError) -> [MappingInfo] {
        if (try? dm.info(name: plan.name)) != nil {
            throw SwcryptError(.busy, device: plan.name, "a mapping of that name exists already")
        }
        // The devices the stack sits on: locked (libcryptsetup's lock, so a racing
        // swcrypt or cryptsetup waits), checked unused, then claimed exclusively
        // while swcrypt reads and writes them.
        var bottoms = [String: BlockTarget]()
        for layer in plan.layers {
            for dev in layer.table.lines.flatMap(\.target.devices) where !dev.hasPrefix("/dev/mapper/") {
                let t = try resolveTableDevice(dev)
                bottoms[t.majorMinor] = t
            }
        }
        let ordered = bottoms.values.sorted { ($0.device.major, $0.device.minor) < ($1.device.major, $1.device.minor) }
        var locks = [DeviceLock]()
        for t in ordered { locks.append(try DeviceLock(major: t.device.major, minor: t.device.minor, device: t.path)) }
        defer { withExtendedLifetime(locks) {} }
        for t in ordered {
            try resolver.requireUnused(try resolveTableDevice(t.majorMinor))
            let claim = try ExclusiveClaim(path: t.path, writable: !plan.readOnly)
            try refuseSignatures(SignatureProbe.scan(fd: claim.fd), on: t, plan: plan)
            for layer in plan.layers where layer.sizedByKernel {
                guard case .integrity(let i) = layer.table.lines[0].target,
                      (try? resolveTableDevice(i.device))?.majorMinor == t.majorMinor else { continue }
                try prepareIntegritySuperblock(i, claim: claim)
            }
            // Closed here: device-mapper claims the device itself next.
        }
        var key: LogonKey?
        if let size = plan.keySize, let description = plan.keyDescription, let source = plan.keySource {
            let secret = try readKey(source, size: size)
            defer { secret.wipe() }
            key = try LogonKey(description: description, secret: secret)
        }
        defer { key?.remove() }

        var created = [String]()
        var infos = [MappingInfo]()
        do throws(SwcryptError) {
            for (index, layer) in plan.layers.enumerated() {
                try FaultInjection.check("map.create.\(index)", device: layer.name)
                var table = layer.table
                if layer.sizedByKernel {
                    table = try sizeIntegrityLayer(layer, readOnly: plan.readOnly)
                    created.append(layer.name)
                    infos.append(try requireInfo(layer.name))
                    continue
                }
                if let below = infos.last, case .crypt(var c) = table.lines[0].target, c.device.hasPrefix("/dev/mapper/") {
                    // Point the crypt target at the layer below and fit it to its size.
                    c.device = "\(below.major):\(below.minor)"
                    let belowSectors = try sectorsOf(below)
                    let unit = UInt64((c.sectorSize ?? 512) / 512)
                    guard belowSectors > c.offset else {
                        throw SwcryptError(.failure, device: layer.name, "--offset \(c.offset) is beyond the \(belowSectors) data sectors of the dm-integrity layer")
                    }
                    let fitted = (belowSectors - c.offset) / unit * unit
                    table = Table([TableLine(length: min(table.lines[0].length, fitted), target: .crypt(c))])
                }
                let info = try createChecked(name: layer.name, uuid: layer.uuid, table: table, readOnly: plan.readOnly)
                created.append(layer.name)
                infos.append(info)
            }
        } catch {
            throw rolledBack(error, removing: created)
        }
        return infos
    }

    /// Removes what a failed activation created, top first, and returns the
    /// error to report: the original one, with every layer that could not be
    /// removed named (never swallowed: a layer left behind holds a key).
    func rolledBack(_ error: SwcryptError, removing created: [String]) -> SwcryptError {
        var left = [String]()
        for name in created.reversed() {
            do { try dm.remove(name: name) } catch { left.append("\(name) (\(error.errno?.description ?? "\(error)"))") }
        }
        guard !left.isEmpty else { return error }
        var e = error
        e.message += "; rollback could not remove \(left.joined(separator: ", ")): remove it with dmsetup remove"
        return e
    }

    /// Refuses to map crypt or integrity over a range that holds a signature
    /// libblkid knows (its magic inside the mapped range), unless forced: the
    /// data there would be unreadable through the mapping and destroyed by the
    /// first write. Linear and flakey mappings pass data through and are not
    /// checked; a dm-integrity superblock under an integrity layer is reused.
    private func refuseSignatures(_ scan: SignatureScan, on t: BlockTarget, plan: MapPlan) throws(SwcryptError) {
        guard !plan.force else { return }
        var ranges = [(start: UInt64, end: UInt64, integrity: Bool)]()
        for layer in plan.layers {
            for line in layer.table.lines {
                let device: String, offset: UInt64, integrity: Bool
                switch line.target {
                case .crypt(let c): device = c.device; offset = c.offset; integrity = false
                case .integrity(let i): device = i.device; offset = i.offset; integrity = true
                default: continue
                }
                guard !device.hasPrefix("/dev/mapper/"), (try? resolveTableDevice(device))?.majorMinor == t.majorMinor else { continue }
                let end = layer.sizedByKernel ? UInt64.max : offset.multipliedReportingOverflow(by: 512).partialValue
                    &+ line.length.multipliedReportingOverflow(by: 512).partialValue
                ranges.append((offset &* 512, end, integrity))
            }
        }
        guard !ranges.isEmpty else { return }
        let hit = scan.found.filter { sig in
            ranges.contains { r in
                if sig.isIntegritySuperblock && r.integrity { return false }
                guard let at = sig.offset else { return true }
                return at >= r.start && at < r.end
            }
        }
        if !hit.isEmpty {
            throw SwcryptError(.failure, device: t.path, "holds \(hit.map(\.description).joined(separator: ", ")) where the mapping would go; mapping over it makes it unreadable and the first write destroys it (wipefs shows it; --force maps anyway)")
        }
    }

    /// The kernel formats only an all-zero dm-integrity superblock. One made with
    /// the same tag size, block size and mode is reused (a mapping can be made
    /// again over its data); anything else is zeroed, through the exclusive claim.
    private func prepareIntegritySuperblock(_ t: IntegrityTarget, claim: ExclusiveClaim) throws(SwcryptError) {
        let blockBytes = t.blockSize ?? 512
        let (start, overflow) = t.offset.multipliedReportingOverflow(by: 512)
        guard !overflow else { throw SwcryptError(.failure, device: claim.path, "--offset \(t.offset) is beyond any device") }
        let sb = try claim.read(offset: start, count: 512)
        if IntegritySuperblock(bytes: sb)?.matches(t) != true {
            try claim.zero(offset: start, count: max(4096, blockBytes))
        }
    }

    /// Creates a dm-integrity layer with a length of one block, so the kernel
    /// formats its superblock (prepared by `prepareIntegritySuperblock`); reads
    /// the provided data sectors from its status; then reloads it at full size.
    private func sizeIntegrityLayer(_ layer: PlannedLayer, readOnly: Bool) throws(SwcryptError) -> Table {
        guard case .integrity(let t) = layer.table.lines[0].target else { return layer.table }
        let blockBytes = t.blockSize ?? 512
        let small = Table([TableLine(length: UInt64(blockBytes / 512), target: .integrity(t))])
        _ = try createChecked(name: layer.name, uuid: layer.uuid, table: small, readOnly: readOnly)
        do throws(SwcryptError) {
            let status: String
            do { status = try dm.statusText(name: layer.name) } catch { throw SwcryptError(dm: error) }
            // "<start> <len> integrity <mismatches> <provided_data_sectors> <recalc>"
            let fields = status.split(separator: " ")
            guard fields.count >= 5, let provided = UInt64(fields[4]), provided > 0 else {
                throw SwcryptError(.failure, device: layer.name, "cannot read dm-integrity's data size from its status '\(status)'")
            }
            let full = Table([TableLine(length: provided, target: .integrity(t))])
            do {
                try dm.reload(name: layer.name, table: full)
                try dm.resume(name: layer.name)
            } catch {
                throw SwcryptError(dm: error)
            }
            return full
        } catch {
            throw rolledBack(error, removing: [layer.name])
        }
    }

    private func createChecked(name: String, uuid: String, table: Table, readOnly: Bool) throws(SwcryptError) -> MappingInfo {
        do {
            return try dm.create(name: name, uuid: uuid, table: table, readOnly: readOnly)
        } catch {
            // Look again before reporting: exists already, or the kernel refused.
            if let e = error.errno, e == .resourceBusy || e == .fileExists, (try? dm.info(name: name)) != nil {
                throw SwcryptError(.busy, device: name, "a mapping of that name exists already")
            }
            throw SwcryptError(dm: error)
        }
    }

    /// The mapping NAME, or nil when there is none (or device-mapper cannot say).
    public func info(name: String) -> MappingInfo? {
        (try? dm.info(name: name)) ?? nil
    }

    private func requireInfo(_ name: String) throws(SwcryptError) -> MappingInfo {
        let found: MappingInfo?
        do { found = try dm.info(name: name) } catch { throw SwcryptError(dm: error) }
        guard let found else { throw SwcryptError(.failure, device: name, "the mapping vanished") }
        return found
    }

    private func sectorsOf(_ info: MappingInfo) throws(SwcryptError) -> UInt64 {
        guard let d = resolver.sysfs.blockDevice(major: info.major, minor: info.minor) else {
            throw SwcryptError(.failure, device: info.name, "not in sysfs")
        }
        return d.sizeBytes / 512
    }

    // MARK: - Removal and listing

    /// Every mapping swcrypt made, grouped by stack (top layer's name first).
    public func stacks() throws(SwcryptError) -> [StackSummary] {
        let all: [MappingInfo]
        do { all = try dm.list() } catch { throw SwcryptError(dm: error) }
        var byStack = [String: [MappingInfo]]()
        for m in all {
            guard let p = StackNaming.parse(uuid: m.uuid) else { continue }
            byStack[p.stack, default: []].append(m)
        }
        return byStack.map { stack, layers in
            // The top is the layer no other layer of the stack sits on: the one not named *_dif.
            let sorted = layers.sorted { a, b in
                a.name.hasSuffix(StackNaming.integritySuffix) == b.name.hasSuffix(StackNaming.integritySuffix)
                    ? a.name < b.name : !a.name.hasSuffix(StackNaming.integritySuffix)
            }
            return StackSummary(name: sorted[0].name, stack: stack, layers: sorted)
        }.sorted { $0.name < $1.name }
    }

    /// Removes the whole stack NAME belongs to, top first. Refuses mappings
    /// swcrypt did not create, and busy ones (naming the holder).
    public func unmap(name: String, deferred: Bool = false) throws(SwcryptError) {
        let info: MappingInfo?
        do { info = try dm.info(name: name) } catch { throw SwcryptError(dm: error) }
        guard let info else { throw SwcryptError(.wrongDevice, device: name, "no such mapping") }
        guard let parsed = StackNaming.parse(uuid: info.uuid) else {
            throw SwcryptError(.wrongDevice, device: name,
                               "not created by swcrypt (dm uuid '\(info.uuid.isEmpty ? "none" : info.uuid)'); swcrypt only removes its own mappings")
        }
        let stack = try stacks().first { $0.stack == parsed.stack }
        let layers = stack?.layers ?? [info]
        for layer in layers {
            if layer.openCount > 0 && !deferred {
                let dev = resolver.sysfs.blockDevice(major: layer.major, minor: layer.minor)
                var who = dev.map { resolver.sysfs.mounts(of: $0) } ?? []
                who += dev?.holders.map(\.description) ?? []
                // Lower layers are held by the layer above; only outside users count.
                let outside = who.filter { h in !layers.contains { h.hasPrefix($0.name + " ") } }
                if layer.name == layers[0].name || !outside.isEmpty {
                    let detail = outside.isEmpty ? "open \(layer.openCount) time(s)" : outside.joined(separator: ", ")
                    throw SwcryptError(.busy, device: layer.name, "busy, not removed: \(detail)")
                }
            }
        }
        for layer in layers {
            do { try dm.remove(name: layer.name, deferred: deferred) } catch {
                throw SwcryptError(dm: error)
            }
        }
    }

    // MARK: - Helpers

    func resolveTableDevice(_ dev: String) throws(SwcryptError) -> BlockTarget {
        let parts = dev.split(separator: ":")
        if parts.count == 2, let ma = Int(parts[0]), let mi = Int(parts[1]) {
            guard let d = resolver.sysfs.blockDevice(major: ma, minor: mi) else {
                throw SwcryptError(.wrongDevice, device: dev, "no block device \(dev)")
            }
            return BlockTarget(path: "/dev/\(d.name)", device: d)
        }
        return try resolver.resolve(dev)
    }

    private func validate(_ t: Target, length: UInt64, on facts: BlockTarget, kernel: KernelTargets, insecure: Bool) throws(SwcryptError) {
        try TableValidator.validate(t, lengthSectors: length, on: facts, kernel: kernel, policy: .init(allowInsecure: insecure))
    }

    private func defaultSectorSize(_ t: BlockTarget) -> Int {
        // 4096 when the device allows it (fewer tags, faster); else its logical block size.
        if t.device.logicalBlockSize <= 4096 && t.device.sizeBytes % 4096 == 0 && t.device.freeTagBytes == 0 { return 4096 }
        return t.device.logicalBlockSize
    }

    /// Reads exactly `size` key bytes from the source.
    func readKey(_ source: KeySource, size: Int) throws(SwcryptError) -> SecretBytes {
        switch source {
        case .random:
            return SecretBytes.random(count: size)
        case .file(let path):
            // One byte more than needed, to notice a key file that is too long.
            let key = try readKeyFile(path, atMost: size + 1)
            let got = key.count
            guard got == size else {
                throw SwcryptError(.failure, device: path, got > size
                                   ? "the key file holds more than the \(size) key bytes the cipher needs"
                                   : "the key file holds \(got) bytes; the cipher needs \(size)")
            }
            return key
        }
    }
}

extension SwcryptError {
    /// device-mapper failures: code from errno, the kernel's line in the message.
    init(dm e: DeviceMapperError) {
        let detail = KernelLogWindow.reason(e.kernelMessages).map { "kernel: \($0)" }
            ?? e.libraryMessages.last.map { "libdevmapper: \($0)" }
        guard let errno = e.errno else {
            self.init(.failure, device: e.name, "\(e.operation) failed", operation: e.operation, cause: detail)
            return
        }
        self.init(operation: e.operation, device: e.name, errno: errno, details: detail.map { [$0] } ?? [])
    }
}
