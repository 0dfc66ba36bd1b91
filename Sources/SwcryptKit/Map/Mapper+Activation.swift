import SwcryptBlkid
import SwcryptCore
import SwcryptDeviceMapper
import SwcryptSystem
import SwcryptKeys
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

extension Mapper {
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
    func refuseSignatures(_ scan: SignatureScan, on t: BlockTarget, plan: MapPlan) throws(SwcryptError) {
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
    func prepareIntegritySuperblock(_ t: IntegrityTarget, claim: ExclusiveClaim) throws(SwcryptError) {
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
    func sizeIntegrityLayer(_ layer: PlannedLayer, readOnly: Bool) throws(SwcryptError) -> Table {
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

    func createChecked(name: String, uuid: String, table: Table, readOnly: Bool) throws(SwcryptError) -> MappingInfo {
        do {
            return try dm.create(name: name, uuid: uuid, table: table, readOnly: readOnly)
        } catch {
            // Look again before reporting: exists already, or the kernel refused.
            // (libdevmapper does not always carry the ioctl's errno: a name taken
            // by another process between our check and our create came back as a
            // bare "create failed" in the race matrix; the mapping being there is
            // what decides.)
            // (A table the kernel refused also comes without errno, but with the
            // kernel's line: that one is reported as it is.)
            let taken = error.errno == .resourceBusy || error.errno == .fileExists
                || (error.errno == nil && error.kernelMessages.isEmpty)
            if taken, (try? dm.info(name: name)) ?? nil != nil {
                throw SwcryptError(.busy, device: name, "a mapping of that name exists already")
            }
            throw SwcryptError(dm: error)
        }
    }

    /// The mapping NAME, or nil when there is none (or device-mapper cannot say).
    public func info(name: String) -> MappingInfo? {
        (try? dm.info(name: name)) ?? nil
    }

    func requireInfo(_ name: String) throws(SwcryptError) -> MappingInfo {
        let found: MappingInfo?
        do { found = try dm.info(name: name) } catch { throw SwcryptError(dm: error) }
        guard let found else { throw SwcryptError(.failure, device: name, "the mapping vanished") }
        return found
    }

    func sectorsOf(_ info: MappingInfo) throws(SwcryptError) -> UInt64 {
        guard let d = resolver.sysfs.blockDevice(major: info.major, minor: info.minor) else {
            throw SwcryptError(.failure, device: info.name, "not in sysfs")
        }
        return d.sizeBytes / 512
    }
}
