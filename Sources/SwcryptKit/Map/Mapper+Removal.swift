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

    /// Takes `DeviceLock` on every device the layers sit on that is not one of
    /// them (sysfs slaves/), in major:minor order as `map` does.
    func lockDevices(beneath layers: [MappingInfo]) throws(SwcryptError) -> [DeviceLock] {
        let names = Set(layers.map { "dm-\($0.minor)" })
        var numbers = Set<String>()
        for layer in layers {
            for slave in resolver.sysfs.slaves(of: "dm-\(layer.minor)") where !names.contains(slave) {
                if let dev = Files.readText("\(resolver.sysfs.root)/class/block/\(slave)/dev") { numbers.insert(dev) }
            }
        }
        let ordered = numbers.compactMap { n -> (Int, Int)? in
            let p = n.split(separator: ":").compactMap { Int($0) }
            return p.count == 2 ? (p[0], p[1]) : nil
        }.sorted { $0 < $1 }
        var locks = [DeviceLock]()
        for (ma, mi) in ordered { locks.append(try DeviceLock(major: ma, minor: mi, device: "\(ma):\(mi)")) }
        return locks
    }

    /// Removes an open LUKS2 volume by device-mapper alone, without reading its
    /// header, for `close` when a device beneath is suspended: the mapping NAME
    /// (its dm UUID must be libcryptsetup's, CRYPT-...), and the dm-integrity layer
    /// libcryptsetup put beneath it (NAME_dif) when that layer is itself the
    /// suspended device. When NAME_dif is running above the suspended device,
    /// nothing is removed: removing a running dm-integrity device flushes its
    /// buffers to the device below, which would wait on the suspended one (and
    /// NAME alone gone would leave NAME_dif for no command to find).
    public func removeVolumeMappings(name: String, suspended: String) throws(SwcryptError) {
        let info: MappingInfo?
        do { info = try dm.info(name: name) } catch { throw SwcryptError(dm: error) }
        guard let info else { throw SwcryptError(.wrongDevice, device: name, "no such active mapping") }
        guard info.uuid.hasPrefix("CRYPT-") else {
            throw SwcryptError(.wrongDevice, device: name, "not a volume libcryptsetup opened (device-mapper UUID '\(info.uuid)'); not removed")
        }
        if info.openCount > 0 {
            throw SwcryptError(.busy, device: name, "busy, not closed: open \(info.openCount) time(s)")
        }
        let layers = resolver.sysfs.slaves(of: "dm-\(info.minor)")
            .compactMap { Files.readText("\(resolver.sysfs.root)/class/block/\($0)/dm/name") }
            .filter { $0 == name + StackNaming.integritySuffix }
        if let running = layers.first(where: { $0 != suspended }) {
            throw SwcryptError(.busy, device: name, "not closed: its dm-integrity layer \(running) would flush to \(suspended), which is suspended; resume \(suspended), then close again")
        }
        do { try dm.remove(name: name, retry: false) } catch { throw SwcryptError(dm: error) }
        for layer in layers {
            do { try dm.remove(name: layer, retry: false) } catch { throw SwcryptError(dm: error) }
        }
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
        // The devices beneath the stack are locked first, with the lock `map`
        // holds while it builds a stack on them: an unmap racing a map waits for
        // it to finish, then removes the whole stack (the race matrix once saw
        // unmap take the top of a stack still being built).
        let locks = try lockDevices(beneath: (try stacks().first { $0.stack == parsed.stack }?.layers) ?? [info])
        defer { withExtendedLifetime(locks) {} }
        let current: MappingInfo?
        do { current = try dm.info(name: name) } catch { throw SwcryptError(dm: error) }
        guard current != nil else { throw SwcryptError(.wrongDevice, device: name, "no such mapping (removed meanwhile)") }
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
}
