import SwcryptCore
import SwcryptSystem
import SwcryptNVMe
#if canImport(Glibc)
import Glibc
#endif

/// Which LBA format the user asked for.
public enum FormatSelection: Sendable, Equatable {
    case index(Int)
    case geometry(dataSize: Int, metadata: Int)
}

public struct FormatRequest: Sendable {
    public var path: String
    public var selection: FormatSelection
    public var secureErase: SecureErase
    /// Protection-information type 0...3; 0 = none (metadata free for tags).
    public var protectionType: Int
    public var protectionFirst: Bool
    public var allNamespaces: Bool
    public var timeoutMilliseconds: UInt32

    public init(path: String, selection: FormatSelection, secureErase: SecureErase = .none,
                protectionType: Int = 0, protectionFirst: Bool = false, allNamespaces: Bool = false,
                timeoutMilliseconds: UInt32 = 600_000) {
        self.path = path
        self.selection = selection
        self.secureErase = secureErase
        self.protectionType = protectionType
        self.protectionFirst = protectionFirst
        self.allNamespaces = allNamespaces
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// Everything decided before the device is touched; shown to the user to confirm.
public struct FormatPlan: Sendable {
    public var target: NVMeNamespaceTarget
    public var from: LBAFormat?
    public var to: LBAFormat
    /// Namespaces the format destroys (more than one when the controller formats all at once).
    var affected: [BlockDevice]
    public var request: FormatRequest

    /// What will be destroyed, for the confirmation prompt.
    public var summaryLines: [String] {
        var lines = [String]()
        let fromText = from.map { "LBA format \($0.index) (\($0.geometry))" } ?? "an unknown format"
        lines.append("\(target.path) (NVMe namespace \(target.nsid), \(formatMiB(target.device.sizeBytes))): "
                     + "\(fromText) -> LBA format \(to.index) (\(to.geometry)), secure erase: \(request.secureErase), "
                     + "protection information: \(request.protectionType == 0 ? "none" : "type \(request.protectionType)")")
        for device in affected {
            let parts = device.partitions.isEmpty ? "no partitions" : "partitions: " + device.partitions.joined(separator: ", ")
            lines.append("  destroys all data on \(device.devicePath) (\(formatMiB(device.sizeBytes)), \(parts))")
        }
        return lines
    }
}

public struct FormatResult: Sendable {
    public var plan: FormatPlan
    public var before: BlockDevice
    public var after: BlockDevice
    public var deviceAfter: String
    public var warnings: [String]
}

/// `swcrypt nvme-format`: validate, refuse what is unsafe, confirm, format, make
/// the kernel re-read the namespace and verify what it now shows.
public struct NamespaceFormatter: Sendable {
    var inspector: NamespaceInspector

    public init(inspector: NamespaceInspector = NamespaceInspector()) {
        self.inspector = inspector
    }

    /// Every check that can be made without writing anything.
    public func plan(_ request: FormatRequest) throws(SwcryptError) -> FormatPlan {
        let path = request.path
        let target = try inspector.resolve(path)
        guard Privileges.isRoot else {
            throw SwcryptError(.permission, device: path, "formatting a namespace needs root")
        }
        let identify = try inspector.identify(target)
        let controller = try identifyController(target)

        let to = try select(request.selection, in: identify, device: path)
        guard (0...3).contains(request.protectionType) else {
            throw SwcryptError(.failure, device: path, "protection information type \(request.protectionType) does not exist (0-3)")
        }
        if request.protectionType > 0 {
            guard to.ms >= 8 else {
                throw SwcryptError(.failure, device: path,
                                   "protection information needs at least 8 metadata bytes; LBA format \(to.index) (\(to.geometry)) has \(to.ms)")
            }
            guard identify.dpc & (1 << UInt8(request.protectionType - 1)) != 0 else {
                throw SwcryptError(.failure, device: path,
                                   "the namespace does not support protection information type \(request.protectionType) (dpc \(hexC(UInt64(identify.dpc))))")
            }
        }
        if request.secureErase == .crypto && !controller.cryptoEraseSupported {
            throw SwcryptError(.failure, device: path,
                               "the controller does not support cryptographic erase (FNA \(hexC(UInt64(controller.fna))), bit 2 clear)")
        }

        var affected = [target.device]
        if controller.formatAppliesToAllNamespaces {
            let names = target.controllers.flatMap { inspector.sysfs.nvmeNamespaces(ofController: $0) }
            let others = Set(names).subtracting([target.device.name]).sorted()
                .compactMap { inspector.sysfs.blockDevice(name: $0) }
            if !others.isEmpty && !request.allNamespaces {
                throw SwcryptError(.failure, device: path,
                                   "this controller formats all its namespaces at once (FNA bit 0); "
                                   + "it would also destroy " + others.map(\.devicePath).joined(separator: ", ")
                                   + "; pass --all-namespaces to accept that")
            }
            affected += others
        }

        for device in affected {
            let mounts = inspector.sysfs.mounts(of: device)
            let holders = device.holders
            if !mounts.isEmpty || !holders.isEmpty {
                var why = [String]()
                if !mounts.isEmpty { why.append("mounted: " + mounts.joined(separator: ", ")) }
                if !holders.isEmpty { why.append("held by: " + holders.map(\.description).joined(separator: ", ")) }
                throw SwcryptError(.busy, device: device.devicePath, "in use, refusing to format (" + why.joined(separator: "; ") + ")")
            }
        }
        return FormatPlan(target: target, from: identify.inUse, to: to, affected: affected, request: request)
    }

    /// Formats after `confirm` agreed. Holds every affected namespace open with
    /// O_EXCL during the format, so nothing can claim it in between.
    public func execute(_ plan: FormatPlan, wait: Duration = .seconds(30)) throws(SwcryptError) -> FormatResult {
        let path = plan.target.path
        let before = plan.target.device
        var warnings = [String]()
        var held = [NVMeDevice]()
        for device in plan.affected {
            do {
                held.append(try NVMeDevice(path: device.devicePath, exclusive: true))
            } catch .os(_, .resourceBusy) {
                throw SwcryptError(.busy, device: device.devicePath,
                                   "in use by another process (exclusive open failed), refusing to format")
            } catch {
                throw SwcryptError(nvme: error, device: device.devicePath)
            }
        }
        // The prompt can wait indefinitely: format only what was confirmed. Each
        // path must still name the confirmed block device, and the namespace held
        // must still be the confirmed NSID.
        for device in plan.affected {
            guard case .block(let ma, let mi) = DeviceNode.of(path: device.devicePath), ma == device.major, mi == device.minor else {
                throw SwcryptError(.wrongDevice, device: device.devicePath, "no longer the confirmed namespace (was \(device.major):\(device.minor)); nothing was formatted")
            }
        }
        let dev = held[0]
        let heldNSID = try nvme(path) { () throws(NVMeCommandError) in try dev.namespaceID() }
        guard heldNSID == plan.target.nsid else {
            throw SwcryptError(.wrongDevice, device: path, "now names NVMe namespace \(heldNSID), not the confirmed \(plan.target.nsid); nothing was formatted")
        }
        try nvme(path) { () throws(NVMeCommandError) in
            try dev.format(nsid: dev.namespaceID(), lbaf: plan.to.index, ses: plan.request.secureErase,
                           pi: plan.request.protectionType, piFirst: plan.request.protectionFirst,
                           timeoutMilliseconds: plan.request.timeoutMilliseconds)
        }
        held.removeAll()

        // The kernel rescans after Format NVM on its own (command effects); ask
        // explicitly as well, through the controller, as nvme-cli does.
        for controller in plan.target.controllers {
            do {
                try NVMeDevice(path: "\(inspector.devRoot)/\(controller)").rescanNamespaces()
            } catch {
                warnings.append("rescan through \(inspector.devRoot)/\(controller) failed: \(error)")
            }
        }
        let after = try waitForGeometry(plan, within: wait)
        let newPath = "\(inspector.devRoot)/\(after.name)"
        if let e = BlockIoctl.flushBuffers(newPath) { warnings.append("BLKFLSBUF on \(newPath): \(e)") }
        if let e = BlockIoctl.rereadPartitions(newPath) { warnings.append("BLKRRPART on \(newPath): \(e)") }

        let view = after
        // Check the device's own word too.
        let identify = try inspector.identify(NVMeNamespaceTarget(path: newPath, device: after, nsid: plan.target.nsid,
                                                                   controllers: plan.target.controllers))
        guard identify.inUseIndex == plan.to.index else {
            throw SwcryptError(.failure, device: newPath,
                               "the format completed but the namespace reports LBA format \(identify.inUseIndex) in use, not \(plan.to.index)")
        }
        try verifyKernelCanUse(plan, view, device: newPath)
        return FormatResult(plan: plan, before: before, after: view, deviceAfter: newPath, warnings: warnings)
    }

    private func identifyController(_ target: NVMeNamespaceTarget) throws(SwcryptError) -> IdentifyController {
        let bytes = try nvme(target.path) { () throws(NVMeCommandError) in
            try NVMeDevice(path: target.path).identifyController()
        }
        return try IdentifyController(bytes: bytes)
    }

    /// By index, or by exact (data size, metadata size).
    func select(_ selection: FormatSelection, in identify: IdentifyNamespace, device: String) throws(SwcryptError) -> LBAFormat {
        let available = identify.lbafs.filter { $0.dataSize > 0 }
        let list = available.map { "\($0.index) \($0.geometry)" }.joined(separator: ", ")
        switch selection {
        case .index(let i):
            guard let f = available.first(where: { $0.index == i }) else {
                throw SwcryptError(.failure, device: device, "no LBA format \(i); it has: \(list)")
            }
            return f
        case .geometry(let data, let ms):
            let matches = available.filter { $0.dataSize == data && $0.ms == ms }
            guard let f = matches.min(by: { ($0.rp, $0.index) < ($1.rp, $1.index) }) else {
                throw SwcryptError(.failure, device: device, "no LBA format \(data)+\(ms); it has: \(list)")
            }
            return f
        }
    }

    /// Polls sysfs until the namespace (found again by nsid: names follow scan
    /// order) shows the new logical block size and metadata size.
    private func waitForGeometry(_ plan: FormatPlan, within limit: Duration) throws(SwcryptError) -> BlockDevice {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var last: BlockDevice?
        while true {
            let names = plan.target.controllers.flatMap { inspector.sysfs.nvmeNamespaces(ofController: $0) }
            for name in Set(names) {
                guard let d = inspector.sysfs.blockDevice(name: name),
                      case .nvmeNamespace(let nsid) = d.kind, nsid == plan.target.nsid else { continue }
                last = d
                if d.logicalBlockSize == plan.to.dataSize && (d.metadataBytes ?? 0) == plan.to.ms && d.sizeBytes > 0 {
                    return d
                }
            }
            if clock.now >= deadline { break }
            usleep(100_000)
        }
        guard let last else {
            throw SwcryptError(.wrongDevice, device: plan.target.path,
                               "the namespace did not come back after the format (nsid \(plan.target.nsid) not found in sysfs)")
        }
        if last.sizeBytes == 0 {
            throw SwcryptError(.wrongDevice, device: last.devicePath,
                               "formatted to \(plan.to.geometry), but the kernel cannot use it: capacity 0 "
                               + "(the driver refuses this metadata layout; is CONFIG_BLK_DEV_INTEGRITY enabled?)")
        }
        throw SwcryptError(.wrongDevice, device: last.devicePath,
                           "formatted to \(plan.to.geometry), but the kernel still shows "
                           + "\(last.logicalBlockSize)+\(last.metadataBytes ?? 0) after \(limit)")
    }

    private func verifyKernelCanUse(_ plan: FormatPlan, _ view: BlockDevice, device: String) throws(SwcryptError) {
        let expected = plan.to.ms == 0 ? "none" : (plan.request.protectionType == 0 ? "nop" : nil)
        if let expected, view.integrity.description != expected {
            throw SwcryptError(.wrongDevice, device: device,
                               "formatted to \(plan.to.geometry), but the kernel's integrity profile is \(view.integrity), expected \(expected)")
        }
    }
}
