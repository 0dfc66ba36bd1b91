import SwcryptBlkid
import SwcryptCore
import SwcryptSystem
import SwcryptKeys
import SwcryptLUKS
#if canImport(Glibc)
import Glibc
#endif

/// dm-integrity journalling for volumes without device metadata.
public enum IntegrityMode: String, Sendable, CaseIterable {
    case journal, bitmap, noJournal = "no-journal"

    /// What a mode gives up, printed when it is not the journal.
    var tradeOff: String? {
        switch self {
        case .journal: return nil
        case .noJournal: return "no-journal: a crash during a write can leave sectors whose data and tag disagree; they then fail to read (the filesystem sees I/O errors) until rewritten"
        case .bitmap: return "bitmap: not available under dm-crypt (the kernel accepts bitmap mode only with an internal hash)"
        }
    }
}

public enum LBAFChoice: Sendable, Equatable {
    case keep
    case auto
    case index(Int)
}

public struct VolumeFormatRequest: Sendable {
    public var path: String
    public var cipher: String?
    public var integrity: String?
    public var keyBits: Int?
    public var sectorSize: Int?
    public var integrityMode: IntegrityMode = .journal
    public var nvmeLBAF: LBAFChoice = .keep
    public var passphrase: PassphraseSource
    public var pbkdf = PBKDFChoice()
    public var wipe = true
    /// Initialisation: bytes per write and writes in flight.
    public var initBlockBytes = 4 << 20
    /// 64 MiB: one write per request; larger gains nothing and costs memory per thread.
    static let maxInitBlockBytes = 64 << 20
    static let maxInitQueueDepth = 64
    /// Writes in flight; nil (the default): found by measurement in the first
    /// seconds of the wipe (1, 2, 4, ... up to `maxMeasuredQueueDepth`, the
    /// fastest kept). The read-back uses what the wipe settled on.
    public var initQueueDepth: Int?
    static let maxMeasuredQueueDepth = 16
    /// Read every sector back after initialisation.
    public var verify = true
    public var label: String?

    public init(path: String, passphrase: PassphraseSource) {
        self.path = path
        self.passphrase = passphrase
    }
}

/// Everything decided before the device is written.
public struct VolumeFormatPlan: Sendable {
    public var request: VolumeFormatRequest
    public var target: BlockTarget
    public var spec: CipherSpec
    public var integrity: IntegrityAlgorithm
    public var tagBytes: Int
    public var keyBytes: Int
    public var sectorSize: Int
    public var layout: IntegrityLayout
    /// A namespace reformat that comes first (`--nvme-lbaf`).
    public var reformat: FormatPlan?
    /// What is on the device now.
    public var signatures: SignatureScan
    public var warnings: [String]

    public var layoutDescription: String {
        switch layout {
        case .inlineHardware: return "LUKS2 with inline HW tags (dm-crypt directly on the device's per-sector metadata, no journal)"
        case .dmIntegrity(let journal): return "LUKS2 with dm-integrity emulated tags (\(journal ? "journal" : "no-journal"))"
        case .none: return "LUKS2 without integrity"
        }
    }

    public var summaryLines: [String] {
        var lines = [String]()
        if let reformat { lines += ["first reformat the namespace:"] + reformat.summaryLines.map { "  " + $0 } }
        lines.append("\(target.path): \(formatMiB(target.device.sizeBytes)), \(layoutDescription)")
        lines.append("  cipher \(spec.cryptsetupName), integrity \(integrity.cryptsetupName) (\(tagBytes) bytes per \(sectorSize)-byte sector), key \(keyBytes * 8) bits")
        lines.append("  found on the device: " + signatures.summary)
        lines.append("  ALL DATA ON \(target.path) WILL BE LOST")
        return lines
    }
}

public struct VolumeFormatResult: Sendable {
    public var device: String
    public var info: LUKSInfo
    public var initialised: Bool
    public var wipe: WipeProgress?
    /// Every sector was read back after initialisation.
    public var verified: Bool
    /// Blocks that failed to read back and were rewritten.
}

/// Marks a volume whose tags were not all initialised (the LUKS2 subsystem label,
/// a standard header field that cryptsetup shows as "Subsystem").
public let uninitialisedMarker = "swcrypt:uninitialised"

/// `format`, `open`, `close`, `status`, `dump`: LUKS2 through libcryptsetup.
public final class VolumeManager {
    let resolver = BlockResolver()

    public init() {}

    /// libcryptsetup's debug log into the diagnostics sink.
    public static func setLibraryDebug(_ on: Bool) { LUKSDevice.setDebug(on) }

    static func requireRoot(_ what: String) throws(SwcryptError) {
        guard Privileges.isRoot else { throw SwcryptError(.permission, "\(what) needs root") }
    }

    // MARK: format

    public func plan(_ r: VolumeFormatRequest) throws(SwcryptError) -> VolumeFormatPlan {
        try Self.requireRoot("format")
        let target = try resolver.resolve(r.path)
        // A format killed outright (SIGKILL, power cut) leaves its private init
        // mapping on the device; it holds nothing anyone can use, and this format
        // removes it (execute) instead of calling the device busy.
        let stale = Self.staleInitMappings(target)
        var unheld = target
        unheld.device.holders.removeAll { h in stale.contains { h.mappingName == $0 || h.mappingName == $0 + "_dif" } }
        try resolver.requireUnused(unheld)
        // Numbers first, before anything is planned on them.
        guard (4096...VolumeFormatRequest.maxInitBlockBytes).contains(r.initBlockBytes), r.initBlockBytes % 4096 == 0 else {
            throw SwcryptError(.failure, device: r.path, "--init-block-kib must be a multiple of 4 from 4 to \(VolumeFormatRequest.maxInitBlockBytes >> 10)")
        }
        if let depth = r.initQueueDepth, !(1...VolumeFormatRequest.maxInitQueueDepth).contains(depth) {
            throw SwcryptError(.failure, device: r.path, "--init-queue-depth must be from 1 to \(VolumeFormatRequest.maxInitQueueDepth), not \(depth)")
        }
        let (spec, alg) = try CipherChoice.choose(r.cipher, r.integrity, device: r.path)
        try r.pbkdf.validate(device: r.path)
        guard let integrity = alg else {
            throw SwcryptError(.failure, device: r.path, "swcrypt formats authenticated volumes; \(spec.cryptsetupName) needs --integrity (aead, poly1305, hmac-sha256)")
        }
        let kernelCipher = KernelCipher(spec, integrity: integrity)
        try CipherChoice.requireKernelSupport(kernelCipher, device: r.path)
        let tag = AuthenticatedCipher(cipher: spec, integrity: integrity).metadataBytes
        let keyBytes = try CipherChoice.keyBytes(spec, integrity, bits: r.keyBits, device: r.path)
        var warnings = [String]()

        var reformat: FormatPlan?
        var facts = target.device
        if facts.freeTagBytes < tag, target.device.isNVMeNamespace, r.nvmeLBAF != .keep {
            let inspector = NamespaceInspector()
            let ns = try inspector.resolve(r.path)
            let identify = try inspector.identify(ns)
            let index: Int
            switch r.nvmeLBAF {
            case .index(let i): index = i
            default:
                let report = NamespaceReport(device: r.path, nsid: ns.nsid, identify: identify, kernel: ns.device)
                guard let f = report.smallestFormat(holding: AuthenticatedCipher(cipher: spec, integrity: integrity)) else {
                    throw SwcryptError(.wrongDevice, device: r.path, "no 4096-byte LBA format of this namespace holds \(tag) bytes of metadata; use the dm-integrity layout (without --nvme-lbaf)")
                }
                index = f.index
            }
            let p = try NamespaceFormatter(inspector: inspector).plan(FormatRequest(path: r.path, selection: .index(index)))
            guard p.to.ms >= tag else {
                throw SwcryptError(.failure, device: r.path, "LBA format \(index) (\(p.to.geometry)) has \(p.to.ms) metadata bytes; \(spec.cryptsetupName)/\(integrity.cryptsetupName) needs \(tag)")
            }
            reformat = p
            // The device as it will be after the reformat.
            facts.logicalBlockSize = p.to.dataSize
            facts.metadataBytes = p.to.ms
            facts.integrity = .nop
        }

        let layout: IntegrityLayout
        if facts.hasProtectionInformation {
            throw SwcryptError(.wrongDevice, device: r.path, "the device's integrity profile \(facts.integrity) is in use by protection information; reformat it without PI (swcrypt nvme-format --pi 0) or use a device without it")
        }
        if facts.freeTagBytes >= tag {
            layout = .inlineHardware
        } else {
            if (facts.metadataBytes ?? 0) > 0 && facts.freeTagBytes > 0 {
                warnings.append("the device has \(facts.freeTagBytes) metadata bytes per sector, fewer than the \(tag) \(spec.cryptsetupName)/\(integrity.cryptsetupName) needs; using dm-integrity instead")
            }
            switch r.integrityMode {
            case .bitmap:
                throw SwcryptError(.failure, device: r.path, "--integrity-mode bitmap: the kernel accepts dm-integrity's bitmap mode only with an internal hash, not under dm-crypt; use journal or no-journal")
            case .journal: layout = .dmIntegrity(journal: true)
            case .noJournal:
                layout = .dmIntegrity(journal: false)
                if let t = r.integrityMode.tradeOff { warnings.append(t) }
            }
        }
        let sectorSize = r.sectorSize ?? max(facts.logicalBlockSize, layout == .inlineHardware ? facts.logicalBlockSize : 4096)
        if sectorSize != 4096 {
            warnings.append("sector size \(sectorSize): 4096 is recommended (one tag per 4 KiB: less metadata, faster)")
        }
        if layout == .inlineHardware && sectorSize != facts.logicalBlockSize {
            throw SwcryptError(.failure, device: r.path, "with inline tags the sector size must equal the logical block size \(facts.logicalBlockSize), not \(sectorSize)")
        }
        if sectorSize < facts.logicalBlockSize {
            throw SwcryptError(.failure, device: r.path, "sector size \(sectorSize) is smaller than the logical block size \(facts.logicalBlockSize)")
        }
        if layout == .inlineHardware {
            // The kernel must run dm-crypt on metadata (Linux 6.11, dm-crypt >= 1.27).
            let mapper = try Mapper.privileged()
            let k = try mapper.kernelTargets()
            if !k.capabilities.contains(.cryptOnMetadata) {
                throw SwcryptError(.failure, device: r.path, "inline tags need Linux 6.11 or later (dm-crypt >= 1.27); this kernel has dm-crypt \(k["crypt"].map { "\($0)" } ?? "none")")
            }
        }
        let signatures: SignatureScan = reformat == nil ? SignatureProbe.scan(path: r.path)
            : .notProbed(reason: "the namespace is reformatted first, which erases it")
        for name in stale {
            warnings.append("\(name), the initialisation mapping of an interrupted format, is still on the device; this format removes it")
        }
        return VolumeFormatPlan(request: r, target: target, spec: spec, integrity: integrity, tagBytes: tag, keyBytes: keyBytes,
                                sectorSize: sectorSize, layout: layout, reformat: reformat, signatures: signatures, warnings: warnings)
    }

    /// Reformats the namespace if planned, writes the LUKS2 header, adds the
    /// keyslot, then initialises every sector's tag through a private mapping.
    public func execute(_ plan: VolumeFormatPlan,
                        progress: (@Sendable (WipeProgress) -> Void)?) throws(SwcryptError) -> VolumeFormatResult {
        let passphrase = try plan.request.passphrase.read(device: plan.target.path)
        defer { passphrase.wipe() }
        if plan.reformat == nil {
            for name in Self.staleInitMappings(try resolver.resolve(plan.target.path)) {
                try removeStaleInitMapping(name, device: plan.target.path)
            }
            // The confirmation and the passphrase can wait indefinitely: act only on
            // the device that was confirmed, and only while it is still unused.
            try resolver.recheck(plan.target, nothing: "nothing was written")
        }
        // From here to the end, Ctrl-C, SIGTERM and SIGHUP only ask the format to
        // stop: it then removes its init mapping and says how far it got.
        Interrupt.install()
        defer { Interrupt.restore() }
        var path = plan.target.path
        if let reformat = plan.reformat {
            let result = try NamespaceFormatter().execute(reformat)
            path = result.deviceAfter
            if Interrupt.requested {
                throw SwcryptError(.failure, device: path, "interrupted after the namespace was reformatted (\(reformat.to.geometry)); nothing else was written")
            }
        }
        let device = try luks { () throws(LUKSError) in try LUKSDevice(path: path) }
        var parameters = LUKSFormatParameters(cipher: plan.spec, integrity: plan.integrity, keyBytes: plan.keyBytes,
                                              sectorSize: plan.sectorSize, layout: plan.layout)
        parameters.pbkdf = plan.request.pbkdf
        parameters.label = plan.request.label
        parameters.subsystem = plan.request.wipe ? uninitialisedMarker : nil
        try luks { () throws(LUKSError) in
            try device.format(parameters)
            try device.addKeyslot(passphrase: passphrase)
        }
        try FaultInjection.check("format.header", device: path)
        guard plan.request.wipe else {
            try luks { () throws(LUKSError) in try device.setLabel(plan.request.label, subsystem: uninitialisedMarker) }
            return VolumeFormatResult(device: path, info: device.info, initialised: false, wipe: nil,
                                      verified: false)
        }
        if Interrupt.requested {
            throw SwcryptError(.failure, device: path, "interrupted: the LUKS2 header is written but no tag is initialised; its header says \(uninitialisedMarker); run format again")
        }
        let name = Self.initMappingPrefix + String(device.info.uuid.prefix(8))
        try luks { () throws(LUKSError) in try device.activateForInitialisation(name: name) }
        do throws(SwcryptError) { try FaultInjection.check("format.activate", device: path) } catch {
            throw Self.removingInitMapping(name, of: device, after: error)
        }
        let outcome: (Wiper.Outcome, WipeProgress)
        do {
            outcome = try Wiper.zero("/dev/mapper/\(name)", chunkBytes: plan.request.initBlockBytes,
                                     inFlight: plan.request.initQueueDepth, maxInFlight: VolumeFormatRequest.maxMeasuredQueueDepth,
                                     progress: progress)
        } catch {
            throw Self.removingInitMapping(name, of: device, after: error)
        }
        // Read every sector back: a tag the device did not keep is found now,
        // not by the filesystem later. Nothing is papered over: any unreadable
        // block fails the format.
        if outcome.0 == .completed && plan.request.verify {
            let mapped = "/dev/mapper/\(name)"
            do throws(SwcryptError) {
                try FaultInjection.check("format.wipe", device: path)
                let bad = try Wiper.unreadableBlocks(mapped, blockBytes: plan.sectorSize, chunkBytes: plan.request.initBlockBytes,
                                                      inFlight: outcome.1.inFlight ?? plan.request.initQueueDepth ?? 4, progress: progress)
                if !bad.isEmpty {
                    throw SwcryptError(.failure, device: path, "\(bad.count) blocks fail to read back right after initialisation (first at byte \(bad[0]) of the volume): the device or kernel does not keep the tags it was given; do not use this volume")
                }
            } catch {
                throw Self.removingInitMapping(name, of: device, after: error)
            }
        }
        try luks { () throws(LUKSError) in try device.deactivate(name: name) }
        if outcome.0 == .interrupted || Interrupt.requested {
            throw SwcryptError(.failure, device: path, "interrupted: the volume is formatted but not initialised (\(Int(100 * Double(outcome.1.done) / Double(max(outcome.1.total, 1))))% done); its header says \(uninitialisedMarker), and sectors not yet written fail to read; run format again to initialise it")
        }
        try luks { () throws(LUKSError) in try device.setLabel(plan.request.label, subsystem: nil) }
        return VolumeFormatResult(device: path, info: device.info, initialised: true, wipe: outcome.1,
                                  verified: plan.request.verify)
    }

    /// Removes the init mapping after a failed step; the error to report names a
    /// removal that failed too (the mapping holds the volume key), never hides it.
    static func removingInitMapping(_ name: String, of device: LUKSDevice, after failure: SwcryptError) -> SwcryptError {
        do { try device.deactivate(name: name) } catch {
            var e = failure
            e.message += "; the initialisation mapping \(name) could not be removed (\(error.errno.description)): remove it with cryptsetup close \(name)"
            return e
        }
        return failure
    }

    /// Names of swcrypt-init-* mappings (format's private initialisation mapping)
    /// that hold the device. On the dm-integrity layout the holder is the
    /// mapping's NAME_dif layer; the name returned is the top one, whose
    /// deactivation removes both.
    static func staleInitMappings(_ target: BlockTarget) -> [String] {
        var names = [String]()
        for h in target.device.holders {
            guard var name = h.mappingName else { continue }
            guard name.hasPrefix(initMappingPrefix) else { continue }
            if name.hasSuffix("_dif") { name.removeLast(4) }
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    static let initMappingPrefix = "swcrypt-init-"

    /// Removes an init mapping left by a format that was killed; refuses while
    /// something has it open (a format still running).
    func removeStaleInitMapping(_ name: String, device path: String) throws(SwcryptError) {
        let device: LUKSDevice
        do { device = try LUKSDevice(activeName: name) } catch {
            // Killed while libcryptsetup built the init mapping: the layer beneath
            // (NAME_dif) exists, and NAME is missing or has no table yet. Both are
            // swcrypt's by their names; NAME_dif holds this device (staleInitMappings
            // found it among its holders). The top goes first, then the layer.
            for layer in [name, name + StackNaming.integritySuffix] {
                try removeOrphanLayer(layer, device: path)
            }
            return
        }
        if let active = device.activeVolume(name: name), active.busy {
            throw SwcryptError(.busy, device: path, "\(name) is open: a format of this device is still running")
        }
        do { try device.deactivate(name: name) } catch {
            throw SwcryptError(.busy, device: path, "cannot remove the stale initialisation mapping \(name): \(error.errno.description)")
        }
        Diagnostics.shared.log(.info, "format", "removed \(name), left on \(path) by an interrupted format")
    }

    func removeOrphanLayer(_ name: String, device path: String) throws(SwcryptError) {
        let mapper = try Mapper.privileged()
        guard let info = mapper.info(name: name) else { return }   // gone meanwhile
        if info.openCount > 0 {
            throw SwcryptError(.busy, device: path, "\(name) is open: a format of this device is still running")
        }
        do { try mapper.dm.remove(name: name) } catch { throw SwcryptError(dm: error) }
        Diagnostics.shared.log(.info, "format", "removed \(name), left on \(path) by an interrupted format")
    }

    // MARK: open / close

    /// `swcrypt open` (and `open --test-passphrase`, without a name).
    public func open(_ r: OpenRequest) throws(SwcryptError) -> (LUKSInfo, [String]) {
        let path = r.path
        guard let name = r.name else { return try testPassphrase(r) }
        try Self.requireRoot("open")
        try StackNaming.validate(name: name)
        let target = try resolver.resolve(path)
        try resolver.requireUnused(target)
        let device = try loadHeader(path)
        let info = device.info
        if !info.hasWellFormedUUID {
            // libcryptsetup names the mapping and its keyring key after the UUID and
            // fails with a bare EINVAL on one that is not a UUID.
            throw SwcryptError(.failure, device: path, "the LUKS2 header's UUID '\(info.uuid)' is not a UUID (cryptsetup luksUUID --uuid sets one)")
        }
        if info.hasUnknownRequirement {
            throw SwcryptError(.failure, device: path, "the LUKS2 header has a mandatory requirement this libcryptsetup does not know (see swcrypt dump); a newer cryptsetup made or changed it, and opening it could misread the volume")
        }
        var warnings = [String]()
        if info.layout == .inlineHardware {
            let facts = target.device
            if facts.freeTagBytes < info.tagBytes {
                let have = facts.hasProtectionInformation ? "its metadata is taken by protection information (\(facts.integrity))"
                    : "it now offers \(facts.freeTagBytes) (logical block \(facts.logicalBlockSize)+\(facts.metadataBytes ?? 0), profile \(facts.integrity))"
                throw SwcryptError(.wrongDevice, device: path, "the volume keeps \(info.tagBytes)-byte tags in the device's per-sector metadata (inline HW tags), but \(have); was the namespace reformatted?")
            }
            if facts.logicalBlockSize != info.sectorSize {
                throw SwcryptError(.wrongDevice, device: path, "the volume was made with \(info.sectorSize)-byte sectors on the device's metadata, but the device's logical block size is now \(facts.logicalBlockSize)")
            }
            let k = try Mapper.privileged().kernelTargets()
            if !k.capabilities.contains(.cryptOnMetadata) {
                throw SwcryptError(.failure, device: path, "the volume uses inline HW tags, which need Linux 6.11 or later (dm-crypt >= 1.27); this kernel has dm-crypt \(k["crypt"].map { "\($0)" } ?? "none")")
            }
        }
        if r.allowDiscards && info.integrity != nil {
            throw SwcryptError(.failure, device: path, "--allow-discards refused: on an authenticated volume a discarded sector loses its tag and then fails to read (libcryptsetup: \"Discard/TRIM is not supported\" with integrity)")
        }
        if info.subsystem == uninitialisedMarker {
            warnings.append("this volume was never fully initialised: sectors not written since format fail to read")
        }
        // Held while the mapping is made: a racing open (swcrypt's or cryptsetup's)
        // waits, then finds the device in use. What was checked before is checked again.
        func locked(_ body: () throws(LUKSError) -> Void) throws(SwcryptError) {
            let lock = try DeviceLock(major: target.device.major, minor: target.device.minor, device: path)
            LUKSLibrary.setMetadataLocking(false)
            defer { LUKSLibrary.setMetadataLocking(true); withExtendedLifetime(lock) {} }
            try resolver.recheck(target, nothing: "nothing was opened")
            do { try body() } catch {
                switch error.errno {
                case .notPermitted:
                    throw SwcryptError(.permission, device: path, r.slot.map { "keyslot \($0) does not open with this passphrase" }
                                       ?? "no keyslot opens with this passphrase", errno: error.errno)
                case .noSuchFileOrDirectory where r.slot != nil:
                    throw SwcryptError(.failure, device: path, "keyslot \(r.slot!) is not in use", errno: error.errno)
                case .fileExists, .resourceBusy:
                    throw SwcryptError(.busy, device: name, "a mapping of that name exists already")
                default:
                    throw SwcryptError(luks: error)
                }
            }
        }
        // Tokens first, as cryptsetup: a token that opens the volume needs no passphrase.
        // libcryptsetup's handlers (luks2-keyring, the system's plugins) go first, then
        // clevis tokens, for which libcryptsetup has no handler: `clevis decrypt`.
        if r.tokens != .never && (!device.tokens.isEmpty || r.tokens == .only) {
            var failures = [SwcryptError]()
            if r.tokenType != ClevisToken.type {
                do {
                    try locked { () throws(LUKSError) in
                        _ = try device.activateByToken(name: name, id: r.tokenID, type: r.tokenType, readOnly: r.readOnly,
                                                       performance: r.performance, allowDiscards: r.allowDiscards)
                    }
                    return (info, warnings)
                } catch where error.code == .busy {
                    throw Self.tokenFailure(error, path: path)
                } catch {
                    failures.append(Self.tokenFailure(error, path: path))
                }
            }
            if r.tokenType == nil || r.tokenType == ClevisToken.type {
                let clevis = try clevisTokens(device, path: path).filter { r.tokenID == nil || r.tokenID == $0.id }
                // libcryptsetup's "no token it could use" (ENOENT) meant the clevis ones:
                // their own outcome says more. A keyring token's failure stays.
                if !clevis.isEmpty { failures.removeAll { $0.errno == .noSuchFileOrDirectory } }
                for (id, token) in clevis {
                    do {
                        let secret = try clevisDecrypt(token, id: id, timeout: r.tokenTimeout, path: path)
                        defer { secret.wipe() }
                        try locked { () throws(LUKSError) in
                            try device.activate(name: name, passphrase: secret, slot: token.keyslot, readOnly: r.readOnly,
                                                performance: r.performance, allowDiscards: r.allowDiscards)
                        }
                        return (info, warnings)
                    } catch where error.code == .busy {
                        throw error
                    } catch {
                        failures.append(error)
                    }
                }
            }
            let why = failures.isEmpty ? "no token of the volume could unlock it" : failures.map(\.message).joined(separator: "; ")
            if r.tokens == .only {
                if failures.count == 1 { throw failures[0] }
                throw SwcryptError(.permission, device: path, why, operation: "open through a token")
            }
            warnings.append("no token opened the volume (\(why)); using the passphrase")
        }
        // The passphrase is read outside the lock: no other open waits behind a prompt.
        try r.passphrase.withTries(r.tries, device: path) { (secret) throws(SwcryptError) in
            try locked { () throws(LUKSError) in
                try device.activate(name: name, passphrase: secret, slot: r.slot, readOnly: r.readOnly,
                                    performance: r.performance, allowDiscards: r.allowDiscards)
            }
        }
        return (info, warnings)
    }

    /// What a failed token unlock means, in libcryptsetup's terms (its token loop
    /// returns the most telling error of all the tokens it tried).
    static func tokenFailure(_ e: SwcryptError, path: String) -> SwcryptError {
        let why: String
        switch e.errno {
        case .noSuchFileOrDirectory?: why = "no token of the volume could unlock it (none of a type with a handler here, or none for an active keyslot)"
        // (libcryptsetup's luks2-keyring handler says EPERM also when its key is not in the keyring.)
        case .notPermitted?: why = "no token gave a passphrase that opens a keyslot (for a luks2-keyring token: its key is missing from the keyring, or wrong)"
        case .some(let errno) where errno.rawValue == 55: why = "the token wants a PIN"   // ENOANO
        case .resourceTemporarilyUnavailable?: why = "the token's hardware (TPM2, FIDO2 key, smart card) is not present"
        default: return e
        }
        return SwcryptError(.permission, device: path, why, operation: "open through a token", errno: e.errno)
    }

    /// `open --test-passphrase`: which slot the passphrase opens; nothing is activated.
    func testPassphrase(_ r: OpenRequest) throws(SwcryptError) -> (LUKSInfo, [String]) {
        let device = try header(forKeys: r.path)
        var slot = 0
        try r.passphrase.withTries(r.tries, device: r.path) { (secret) throws(SwcryptError) in
            slot = try verified(secret, in: device, slot: r.slot, path: r.path)
        }
        return (device.info, ["keyslot \(slot) opens with this passphrase"])
    }

    public func close(name: String) throws(SwcryptError) {
        try Self.requireRoot("close")
        // A stack swcrypt's `map` built (dm uuid SWCRYPT-...) goes as a whole, as
        // `unmap` removes it: libcryptsetup would leave its dm-integrity layer.
        let mapper = try Mapper.privileged()
        if let info = mapper.info(name: name), StackNaming.parse(uuid: info.uuid) != nil {
            try mapper.unmap(name: name)
            return
        }
        // libcryptsetup reads the volume's header to close it; beneath a suspended
        // device that read would wait. device-mapper alone can still remove it.
        // (A suspension of a few seconds, a table reload, is waited out first.)
        var stalled = resolver.suspendedDevice(beneath: name)
        for _ in 0..<50 where stalled != nil {
            usleep(100_000)
            stalled = resolver.suspendedDevice(beneath: name)
        }
        if let (kernel, below) = stalled {
            try mapper.removeVolumeMappings(name: name, suspended: below)
            Diagnostics.shared.log(.warning, "close", "\(name): removed by device-mapper alone, its LUKS2 header unread: \(below) (\(kernel)) beneath it is suspended")
            return
        }
        let device: LUKSDevice
        do { device = try LUKSDevice(activeName: name) } catch {
            throw SwcryptError(.wrongDevice, device: name, "no such active mapping")
        }
        if let active = device.activeVolume(name: name), active.busy {
            throw SwcryptError(.busy, device: name, "busy, not closed: \(holders(of: name).joined(separator: ", "))")
        }
        do { try device.deactivate(name: name) } catch {
            if error.errno == .resourceBusy {
                throw SwcryptError(.busy, device: name, "busy, not closed: \(holders(of: name).joined(separator: ", "))")
            }
            throw SwcryptError(luks: error)
        }
    }

    /// Who holds /dev/mapper/NAME: mounts, holders, or just an open count.
    func holders(of name: String) -> [String] {
        guard case .block(let ma, let mi) = DeviceNode.of(path: "/dev/mapper/\(name)"),
              let d = resolver.sysfs.blockDevice(major: ma, minor: mi) else { return ["in use"] }
        let who = resolver.sysfs.mounts(of: d) + d.holders.map { "held by \($0.description)" }
        return who.isEmpty ? ["open by a process"] : who
    }

    // MARK: status / dump

    public func status(name: String) throws(SwcryptError) -> (LUKSInfo, ActiveVolume?) {
        try Self.requireRoot("status")
        let device = try Self.openVolume(name, resolver: resolver)
        return (device.info, device.activeVolume(name: name))
    }

    /// libcryptsetup's context for the open volume NAME, with its header read.
    /// Refuses, in bounded time, when a device beneath is suspended (the read would
    /// wait) or gone: a mapping whose disk was pulled or powered off keeps its
    /// table, but libcryptsetup then finds no header and reports type "none"
    /// with no UUID, which would read as a volume with no keyslots.
    static func openVolume(_ name: String, resolver: BlockResolver, itself: Bool = false) throws(SwcryptError) -> LUKSDevice {
        try resolver.requireNotSuspended(mapping: name, itself: itself)
        let device: LUKSDevice
        do { device = try LUKSDevice(activeName: name) } catch {
            throw SwcryptError(.wrongDevice, device: name, "no such active mapping")
        }
        if device.info.uuid.isEmpty {
            let dmUUID = (try? Mapper.privileged())?.info(name: name)?.uuid ?? ""
            if !dmUUID.hasPrefix("CRYPT-LUKS") {
                throw SwcryptError(.wrongDevice, device: name, "not a LUKS2 volume (device-mapper UUID '\(dmUUID)'); swcrypt ls lists the mappings swcrypt's map made")
            }
            let kernel = resolver.sysfs.kernelName(ofPath: "/dev/mapper/\(name)")
            let below = kernel.map { resolver.sysfs.slaves(of: $0) } ?? []
            // A disk pulled or powered off leaves its name in slaves/ but not in /sys/class/block.
            let present = below.filter { Files.exists("\(resolver.sysfs.root)/class/block/\($0)/dev") }
            if present.isEmpty {
                let gone = below.isEmpty ? "no device is beneath it any more" : "its device \(below.joined(separator: ", ")) is gone"
                throw SwcryptError(.wrongDevice, device: name, "the mapping is open but \(gone) (removed, powered off or detached): neither its header nor its data can be read; close it with swcrypt close \(name)")
            }
            throw SwcryptError(.wrongDevice, device: name, "its LUKS2 header cannot be read from \(present.map { "/dev/\($0)" }.joined(separator: ", ")) (a detached header, or the header wiped or damaged since it was opened)")
        }
        return device
    }

    /// Integrity failures the kernel logged for an open volume: lines naming its
    /// data device (or, with native multipath, that device's paths), the mapping
    /// itself or its dm-integrity layer (the devices `swcrypt watch` attributes).
    public func integrityErrors(name: String) -> IntegrityErrorSummary {
        IntegrityErrorSummary.scan(KernelLogWindow.history(), devices: Watcher().volume(name: name)?.kernelNames ?? [])
    }

    /// The header of a device or of a header backup file. A header swcrypt would
    /// not open (LUKS2MetadataCheck) is still shown, with the problem as a warning:
    /// dump is what an admin reads before a repair.
    public func dump(path: String) throws(SwcryptError) -> LUKSInfo {
        try loadHeader(path, strict: false).info
    }

    /// libcryptsetup's context on `path` with its LUKS2 header read (a device, or a
    /// header backup file). `strict`: refuse what libcryptsetup reads but swcrypt
    /// will not unlock or change (LUKS2MetadataCheck); otherwise warn about it.
    func loadHeader(_ path: String, strict: Bool = true) throws(SwcryptError) -> LUKSDevice {
        if case .missing(let e) = DeviceNode.of(path: path) {
            throw SwcryptError(.wrongDevice, device: path, "no such device", errno: e)
        }
        if case .block = DeviceNode.of(path: path), let kernel = resolver.sysfs.kernelName(ofPath: path) {
            try resolver.requireNotSuspended(kernel, path: path)
        }
        let device = try luks { () throws(LUKSError) in try LUKSDevice(path: path) }
        do {
            if let warning = try device.load()?.repairWarning {
                Diagnostics.shared.log(.warning, "luks2", "\(path): \(warning)")
            }
        } catch {
            // libcryptsetup's own words, on one line (some hold a newline).
            let said = error.messages.last.map { $0.split(separator: "\n").joined(separator: " ") }
            if let header = error.header, !header.noHeader, header.copyFailed {
                throw SwcryptError(.wrongDevice, device: path, "damaged LUKS2 header: \(header.summary)", cause: said)
            }
            throw SwcryptError(.wrongDevice, device: path, "no LUKS2 header here (or it is damaged)", cause: said ?? error.errno.description)
        }
        // What libcryptsetup accepts but should not (LUKS2MetadataCheck).
        if let text = try? device.metadataJSON(), let metadata = try? JSONValue(parsing: text) {
            let problems = LUKS2MetadataCheck.problems(metadata)
            if !problems.isEmpty {
                let what = "damaged LUKS2 header: \(problems.joined(separator: "; "))"
                guard !strict else { throw SwcryptError(.wrongDevice, device: path, what) }
                Diagnostics.shared.log(.warning, "luks2", "\(path): \(what); swcrypt will not open it or change its keys")
            }
        }
        return device
    }
}
