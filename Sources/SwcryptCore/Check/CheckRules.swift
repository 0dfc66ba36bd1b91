/// `swcrypt check`'s rules: facts in, findings out (ok / warning / blocking with advice).

public enum CheckRules {
    /// Linux release of dm-crypt inline tags and dm-integrity Inline mode.
    static let inlineLinux = TargetVersion(6, 11)

    public static func findings(_ f: CheckFacts) -> [Finding] {
        kernel(f) + deviceMapper(f) + crypto(f) + libcryptsetup(f) + (f.device.map { device($0, f) } ?? [])
    }

    // MARK: kernel

    static func kernel(_ f: CheckFacts) -> [Finding] {
        var out = [Finding]()
        let inlineCaps: KernelTargets.Capabilities = [.cryptOnMetadata, .integrityInline]
        if let v = TargetVersion(parsing: f.kernelRelease) {
            let linux = "Linux \(v.major).\(v.minor) (\(f.kernelRelease))"
            if v >= inlineLinux {
                out.append(Finding(.kernel, "release", .ok, "\(linux): new enough for tags in device metadata (6.11)"))
            } else if let t = f.deviceMapper.targets, t.capabilities.isSuperset(of: inlineCaps) {
                out.append(Finding(.kernel, "release", .ok, "\(linux): older than 6.11, but its targets have inline tags (backported)"))
            } else {
                out.append(Finding(.kernel, "release", .warning,
                                   "\(linux): older than 6.11, which brought dm-crypt inline tags and dm-integrity Inline mode",
                                   advice: "use Linux 6.11 or later to keep tags in device metadata; dm-integrity journal and direct modes work on this kernel"))
            }
        } else {
            out.append(Finding(.kernel, "release", .warning, "kernel release '\(f.kernelRelease)' is not major.minor...",
                               advice: "the target versions below decide what works"))
        }
        for m in f.modules { out.append(module(m, f)) }
        return out
    }

    static func module(_ m: ModuleFact, _ f: CheckFacts) -> Finding {
        let config = ModuleFact.inspected.first { $0.name == m.name }?.config
        let item = "module \(m.name)"
        let isDM = m.name.hasPrefix("dm_")
        switch m.state {
        case .loaded:
            return Finding(.kernel, item, .ok, "module \(m.name): loaded")
        case .builtIn:
            return Finding(.kernel, item, .ok, "module \(m.name): built in")
        case .loadable:
            if m.loadedByCheck {
                return Finding(.kernel, item, .ok, "module \(m.name): loadable (modules.dep); check loaded it to list its target version, as cryptsetup does")
            }
            return Finding(.kernel, item, .ok, "module \(m.name): loadable (modules.dep); " + (isDM ? "swcrypt loads it when it maps" : "the crypto API loads it on first use"))
        case .missing, .unknown:
            // The module lists can be absent or incomplete: what the kernel shows wins.
            if let evidence = presence(of: m.name, f) {
                return Finding(.kernel, item, .ok, "module \(m.name): not found as a module, but \(evidence) (built in)")
            }
            let build = config.map { "a kernel with \($0)" } ?? "a kernel that has it"
            if m.state == .unknown {
                return Finding(.kernel, item, .warning,
                               "module \(m.name): not loaded, and \(f.modulesDirectory) has no modules.builtin or modules.dep to tell built in from missing",
                               advice: "install the running kernel's modules, or use \(build)")
            }
            return Finding(.kernel, item, isDM ? .blocking : .warning,
                           "module \(m.name): not built for this kernel (not in /sys/module, modules.builtin or modules.dep)",
                           advice: isDM ? "use \(build)" : "use \(build), or a cipher the kernel has")
        }
    }

    /// Evidence, other than the module lists, that the kernel has what a module provides.
    static func presence(of module: String, _ f: CheckFacts) -> String? {
        switch module {
        case "dm_mod":
            if case .queried = f.deviceMapper.access { return "device-mapper answers" }
        case "dm_crypt", "dm_integrity":
            let target = String(module.dropFirst(3))
            if f.deviceMapper.targets?[target] != nil { return "the kernel has the \(target) target" }
        default:
            let provided = f.aeads.filter { provides(module, $0.algorithm) && $0.availability == .available }
            if let first = provided.first { return "the crypto API has \(first.algorithm)" }
        }
        return nil
    }

    /// Which crypto module an algorithm's template comes from.
    static func provides(_ module: String, _ algorithm: String) -> Bool {
        switch module {
        case "aegis128": return algorithm == "aegis128"
        case "gcm": return algorithm.hasPrefix("gcm(")
        case "chacha20poly1305": return algorithm.hasPrefix("rfc7539(")
        case "authenc": return algorithm.hasPrefix("authenc(")
        default: return false
        }
    }

    // MARK: device-mapper

    static func deviceMapper(_ f: CheckFacts) -> [Finding] {
        switch f.deviceMapper.access {
        case .notRoot:
            return [Finding(.deviceMapper, "access", .warning,
                            "not root: device-mapper versions unknown (the version ioctls need root)",
                            advice: "run `sudo swcrypt check` to list the driver and target versions")]
        case .unavailable(let reason):
            return [Finding(.deviceMapper, "driver", .blocking, "no device-mapper: \(reason)",
                            advice: "use a kernel with CONFIG_BLK_DEV_DM, CONFIG_DM_CRYPT and CONFIG_DM_INTEGRITY; swcrypt maps every volume through device-mapper")]
        case .queried(let driver, let targets):
            var out = [Finding(.deviceMapper, "driver", .ok, "device-mapper driver \(driver)")]
            let caps = targets.capabilities
            for (target, module) in [("crypt", "dm_crypt"), ("integrity", "dm_integrity")] {
                let requirements = KernelTargets.requirements.filter { $0.target == target }
                guard let version = targets[target] else {
                    out.append(Finding(.deviceMapper, "\(target) target", .blocking,
                                       "no \(target) target: \(module) is not loaded and could not be",
                                       advice: "modprobe \(module), or use a kernel with \(ModuleFact.inspected.first { $0.name == module }!.config)"))
                    continue
                }
                let have = requirements.filter { caps.contains($0.capability) }.map(\.name)
                out.append(Finding(.deviceMapper, "\(target) target", .ok,
                                   "\(target) target \(version): " + (have.isEmpty ? "none of " + requirements.map(\.name).joined(separator: ", ") : have.joined(separator: ", "))))
                for r in requirements where !caps.contains(r.capability) {
                    let needs = "needs \(target) >= \(r.minimum.major).\(r.minimum.minor)" + (r.linux.map { ", Linux \($0)" } ?? "")
                    let (status, advice) = missing(r)
                    out.append(Finding(.deviceMapper, r.name, status, "\(r.name): not in \(target) target \(version) (\(needs))", advice: advice))
                }
            }
            return out
        }
    }

    /// How much a missing capability matters, and what to do about it.
    static func missing(_ r: KernelTargets.Requirement) -> (CheckStatus, String) {
        switch r.capability {
        case .cryptOnMetadata:
            return (.blocking, "use Linux 6.11 or later to keep tags in NVMe metadata; until then swcrypt format uses dm-integrity (journal: every write twice)")
        case .integrityInline:
            return (.blocking, "use Linux 6.11 or later for `map integrity --mode I`; journal, direct and bitmap modes work")
        case .integrityKeySize:
            return (.warning, "tables with integrity_key_size: are refused; HMAC keys are then the digest size")
        case .noWorkqueue:
            return (.warning, "map crypt --no-read-workqueue/--no-write-workqueue are refused")
        case .highPriority:
            return (.warning, "map crypt --high-priority is refused")
        default:
            return (.warning, "a newer kernel has it")
        }
    }

    // MARK: crypto

    static func crypto(_ f: CheckFacts) -> [Finding] {
        var out = [Finding]()
        let unknown = f.aeads.compactMap { a -> String? in
            if case .unknown(let why) = a.availability { return why }
            return nil
        }
        if !f.aeads.isEmpty && unknown.count == f.aeads.count {
            out.append(Finding(.crypto, "AF_ALG", .warning,
                               "cannot probe AEADs from user space: \(unknown[0])",
                               advice: "enable CONFIG_CRYPTO_USER_API_AEAD so swcrypt checks ciphers before use; without it a missing cipher shows only when the table load fails"))
            for a in f.aeads where a.listedInProcCrypto {
                out.append(Finding(.crypto, a.cipher.name, .ok, "\(a.cipher.name) (\(a.algorithm)): in /proc/crypto; not benchmarked (no AF_ALG)"))
            }
            return out
        }
        for a in f.aeads {
            let label = "\(a.cipher.name) (\(a.algorithm))"
            switch a.availability {
            case .available:
                if let mibs = a.mibPerSecond {
                    out.append(Finding(.crypto, a.cipher.name, .ok, "\(label): usable, \(String(format1: mibs)) MiB/s encrypting 4 KiB sectors (AF_ALG, one thread)"))
                } else {
                    out.append(Finding(.crypto, a.cipher.name, .ok, "\(label): usable; benchmark failed: \(a.benchmarkProblem ?? "no figure")"))
                }
            case .missing:
                let configs = ModuleFact.inspected.filter { provides($0.name, a.algorithm) }.map(\.config)
                let enable = configs.isEmpty ? "its crypto modules" : configs.joined(separator: ", ")
                out.append(Finding(.crypto, a.cipher.name, .warning, "\(label): the kernel has no such AEAD (AF_ALG: ENOENT)",
                                   advice: "enable \(enable), or use another cipher"))
            case .unknown(let why):
                out.append(Finding(.crypto, a.cipher.name, .warning, "\(label): cannot tell: \(why)",
                                   advice: "the table load will tell; or enable CONFIG_CRYPTO_USER_API_AEAD"))
            }
        }
        if !f.aeads.isEmpty && f.aeads.allSatisfy({ $0.availability == .missing }) {
            out.append(Finding(.crypto, "AEADs", .blocking, "none of the authenticated ciphers swcrypt offers is in this kernel",
                               advice: "use a kernel with CONFIG_CRYPTO_AEGIS128 or CONFIG_CRYPTO_GCM"))
        } else if f.aeads.contains(where: { $0.availability == .available }) {
            let d = AuthenticatedCipher.defaultChoice(aegis128Available: f.aegis128Available)
            out.append(Finding(.crypto, "default cipher", .ok, "default cipher for map crypt and format: \(d.name) (\(d.metadataBytes) metadata bytes per sector)"))
        }
        return out
    }

    // MARK: libcryptsetup

    static func libcryptsetup(_ f: CheckFacts) -> [Finding] {
        if f.cryptsetupHasInlineTags {
            return [Finding(.libcryptsetup, "version", .ok, "\(f.cryptsetupName): LUKS2 with inline HW tags (crypt_format_inline, 2.8 or later)")]
        }
        return [Finding(.libcryptsetup, "version", .warning, "\(f.cryptsetupName): no LUKS2 inline HW tags (no crypt_format_inline; needs 2.8)",
                        advice: "format and open of inline volumes fail; use libcryptsetup 2.8 or later (Scripts/setup builds it); map commands are unaffected")]
    }

    // MARK: device

    static func device(_ d: CheckedDevice, _ f: CheckFacts) -> [Finding] {
        var out = [Finding]()
        let facts = d.device
        let chosen = AuthenticatedCipher.defaultChoice(aegis128Available: f.aegis128Available)
        let reformat = d.namespace?.smallestFormat(holding: chosen)
        let smallestTag = AuthenticatedCipher.common.map(\.metadataBytes).min() ?? 0

        out.append(Finding(.device, "type", .ok, "\(d.path): \(d.kindDescription) (\(d.name))"))
        out.append(Finding(.device, "block size", .ok, "logical block \(d.logicalBlockSize) bytes, physical \(d.physicalBlockSize)"))

        // Size.
        let size = "\(formatMiB(d.sizeBytes)) (\(d.sizeBytes) bytes)"
        if d.sizeBytes == 0 {
            out.append(Finding(.device, "size", .blocking, "capacity 0: the kernel cannot use the device as formatted",
                               advice: d.isNVMeNamespace ? "reformat to a format with separate metadata (swcrypt id-ns lists them)" : "check the device"))
        } else if d.sizeBytes % 4096 == 0 {
            out.append(Finding(.device, "size", .ok, "size \(size), a multiple of 4096"))
        } else {
            out.append(Finding(.device, "size", .warning, "size \(size), not a multiple of 4096: no 4096-byte encryption sectors",
                               advice: "use --sector-size 512, or a partition whose size is a multiple of 4096"))
        }

        // Metadata.
        let geometry = "\(d.logicalBlockSize)+\(d.metadataBytes.map(String.init) ?? "?")"
        let shown = d.metadataBytes == nil ? " (sysfs has no metadata_bytes: Linux < 6.9 or no CONFIG_BLK_DEV_INTEGRITY)" : ""
        if facts.hasProtectionInformation {
            out.append(Finding(.device, "metadata", .blocking,
                               "\(geometry): the metadata is taken by protection information (\(d.integrity)); no room for tags",
                               advice: reformat.map { "reformat without PI: swcrypt nvme-format \(d.path) --lbaf \($0.index) (\($0.geometry))" }
                                ?? "use a device or format without protection information"))
        } else if facts.freeTagBytes >= smallestTag {
            let how = d.integrity == .nop ? "profile nop" : "a dm-integrity layer beneath (\(d.integrity))"
            out.append(Finding(.device, "metadata", .ok, "\(geometry): \(facts.freeTagBytes) metadata bytes per sector free for tags (\(how))"))
        } else if facts.freeTagBytes > 0 {
            out.append(Finding(.device, "metadata", .warning,
                               "\(geometry): \(facts.freeTagBytes) metadata bytes per sector (profile \(d.integrity)), too few for any tag (the smallest needs \(smallestTag))",
                               advice: reformat.map { "swcrypt format \(d.path) --nvme-lbaf auto reformats to \($0.geometry) (lbaf \($0.index)); otherwise format uses dm-integrity (journal)" }
                                ?? "swcrypt format uses dm-integrity beneath (journal: every write twice)"))
        } else {
            let what = (d.metadataBytes ?? 0) > 0
                ? "\(geometry): profile \(d.integrity), metadata not free for tags"
                : "\(geometry): no per-sector metadata (profile \(d.integrity))\(shown)"
            out.append(Finding(.device, "metadata", .warning, what,
                               advice: reformat.map { "swcrypt format \(d.path) --nvme-lbaf auto reformats to \($0.geometry) (lbaf \($0.index)) for inline tags; otherwise format uses dm-integrity (journal: every write twice)" }
                                ?? "swcrypt format uses dm-integrity beneath (journal: every write twice); drives with metadata formats avoid that"))
        }

        // QEMU's emulated NVMe keeps a block's data and its metadata apart in its
        // image and writes them as two requests, one after the other, with nothing
        // holding back a second write to the same block meanwhile (hw/nvme/ctrl.c,
        // nvme_rw_cb). Two writes to one block in flight together can then leave the
        // data of one and the tag of the other: the block fails authentication.
        // Scripts/torture/eilseq measures it; README "Test-bed findings".
        if let model = d.controllerModel, model.hasPrefix("QEMU NVMe"), (d.metadataBytes ?? 0) > 0, !facts.hasProtectionInformation {
            out.append(Finding(.device, "emulated", .warning,
                               "\(model) \(d.controllerFirmware ?? ""): QEMU writes a block's data and its metadata as two separate requests; two writes to one block in flight together can leave them from different writes, and the block then fails authentication (EILSEQ)",
                               advice: "a test bed, not a place for data: a real drive writes a block and its metadata as one unit"))
        }

        // Which tags fit, and whether the kernel has their ciphers.
        if !facts.hasProtectionInformation && facts.freeTagBytes >= smallestTag {
            let fitting = AuthenticatedCipher.common.filter { $0.metadataBytes <= facts.freeTagBytes }
            let tooBig = AuthenticatedCipher.common.filter { $0.metadataBytes > facts.freeTagBytes }
            func missing(_ c: AuthenticatedCipher) -> Bool {
                f.aeads.contains { $0.cipher == c && $0.availability == .missing }
            }
            var text = "fits " + fitting.map { "\($0.name) (\($0.metadataBytes) B\(missing($0) ? ", not in this kernel" : ""))" }.joined(separator: ", ")
            if !tooBig.isEmpty { text += "; too big: " + tooBig.map { "\($0.name) (\($0.metadataBytes) B)" }.joined(separator: ", ") }
            if fitting.allSatisfy(missing) {
                out.append(Finding(.device, "tags", .blocking, text + "; none of the fitting ciphers is in this kernel",
                                   advice: "enable CONFIG_CRYPTO_AEGIS128 or CONFIG_CRYPTO_GCM"))
            } else {
                out.append(Finding(.device, "tags", .ok, text))
            }
        }

        // In use.
        var uses = [String]()
        if !d.mounts.isEmpty { uses.append("mounted: " + d.mounts.joined(separator: ", ")) }
        if !d.holders.isEmpty { uses.append("held by " + d.holders.map(\.description).joined(separator: ", ")) }
        if uses.isEmpty {
            out.append(Finding(.device, "in use", .ok, "not mounted, no holders"))
        } else {
            out.append(Finding(.device, "in use", .blocking, "in use: " + uses.joined(separator: "; "),
                               advice: "unmount it and close its mappings first; swcrypt writes nothing to a device in use (exit 5)"))
        }

        // An NVMe namespace: the formats it could be reformatted to (id-ns's data).
        if d.isNVMeNamespace {
            if let ns = d.namespace {
                let inUse = ns.identify.inUse?.geometry
                for fit in ns.fits {
                    let list = fit.ciphers.isEmpty ? "fits none"
                        : "fits " + fit.ciphers.map { "\($0.name) (\($0.metadataBytes) B)" }.joined(separator: ", ")
                    let mark = fit.lbaf.geometry == inUse ? ", in use" : ""
                    out.append(Finding(.device, "lbaf \(fit.lbaf.index)", .ok, "LBA format \(fit.lbaf.geometry) (lbaf \(fit.lbaf.index)\(mark)): \(list)"))
                }
                if ns.fits.isEmpty {
                    out.append(Finding(.device, "lba formats", .ok, "no LBA format of this namespace has metadata"))
                }
            } else {
                out.append(Finding(.device, "lba formats", .warning, "LBA formats unknown: \(d.namespaceProblem ?? "identify namespace failed")",
                                   advice: f.isRoot ? "swcrypt id-ns \(d.path) shows the error" : "run as root (Identify Namespace needs it)"))
            }
        }

        if let plan = formatPlan(d, f, chosen: chosen, reformat: reformat) { out.append(plan) }
        return out
    }

    /// What `swcrypt format DEV` would build here, and whether this kernel can.
    static func formatPlan(_ d: CheckedDevice, _ f: CheckFacts, chosen: AuthenticatedCipher,
                           reformat: LBAFormat?) -> Finding? {
        let facts = d.device
        guard !facts.hasProtectionInformation, d.sizeBytes > 0 else { return nil }
        let caps = f.deviceMapper.targets?.capabilities
        let unknownWhy: String
        switch f.deviceMapper.access {
        case .notRoot: unknownWhy = "not root: target versions unknown"
        case .unavailable: unknownWhy = "no device-mapper"
        case .queried: unknownWhy = ""
        }

        if facts.freeTagBytes >= chosen.metadataBytes {
            let plan = "swcrypt format would write LUKS2 with inline HW tags: \(chosen.name), \(chosen.metadataBytes) of \(facts.freeTagBytes) metadata bytes, no journal"
            if !f.cryptsetupHasInlineTags {
                return Finding(.device, "format plan", .blocking, plan + ", but \(f.cryptsetupName) has no inline HW tags",
                               advice: "use libcryptsetup 2.8 or later")
            }
            guard let caps else {
                let status: CheckStatus = f.deviceMapper.access == .notRoot ? .warning : .blocking
                return Finding(.device, "format plan", status, plan + "; needs dm-crypt >= 1.27 (\(unknownWhy))",
                               advice: status == .warning ? "run as root to confirm" : "use a kernel with device-mapper (Linux 6.11 or later)")
            }
            if !caps.contains(.cryptOnMetadata) {
                return Finding(.device, "format plan", .blocking, plan + ", but this dm-crypt has no inline tags",
                               advice: "use Linux 6.11 or later")
            }
            return Finding(.device, "format plan", .ok, plan)
        }

        let plan = "swcrypt format would write LUKS2 over dm-integrity (journal: every write twice), \(chosen.name)"
        let advice = reformat.map {
            "or `swcrypt format \(d.path) --nvme-lbaf auto`: reformats to \($0.geometry) (lbaf \($0.index)) first and keeps the tags inline"
        }
        guard let targets = f.deviceMapper.targets else {
            let status: CheckStatus = f.deviceMapper.access == .notRoot ? .warning : .blocking
            return Finding(.device, "format plan", status, plan + "; needs the integrity target (\(unknownWhy))",
                           advice: status == .warning ? "run as root to confirm" : "use a kernel with device-mapper and CONFIG_DM_INTEGRITY")
        }
        if targets["integrity"] == nil {
            return Finding(.device, "format plan", .blocking, plan + ", but the kernel has no integrity target",
                           advice: "use a kernel with CONFIG_DM_INTEGRITY")
        }
        return Finding(.device, "format plan", .ok, plan, advice: advice)
    }
}

