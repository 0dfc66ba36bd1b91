import SwcryptBlkid
import SwcryptCore
import SwcryptDeviceMapper
import SwcryptSystem
import SwcryptKeys
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Plans, validates and activates device-mapper stacks; removes whole stacks.
public final class Mapper {
    public let dm: DeviceMapper
    let resolver: BlockResolver
    var cachedVersions: KernelTargets?

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
    func kernelTargets() throws(SwcryptError) -> KernelTargets {
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

    func validate(_ t: Target, length: UInt64, on facts: BlockTarget, kernel: KernelTargets, insecure: Bool) throws(SwcryptError) {
        try TableValidator.validate(t, lengthSectors: length, on: facts, kernel: kernel, policy: .init(allowInsecure: insecure))
    }

    func defaultSectorSize(_ t: BlockTarget) -> Int {
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
