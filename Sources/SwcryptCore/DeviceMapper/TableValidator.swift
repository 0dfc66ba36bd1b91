/// Checks made before any device is opened for writing: each failure names the
/// device and the numbers.

public struct ValidationPolicy: Sendable {
    /// Accept constructions that are insecure (deterministic IVs with AEAD, `integrity:N:none`, hex keys).
    public var allowInsecure: Bool
    public init(allowInsecure: Bool = false) { self.allowInsecure = allowInsecure }
}

public enum TableValidator {
    /// Validates one target of `lengthSectors` on `device`. Throws the first problem.
    public static func validate(_ target: Target, lengthSectors: UInt64, on below: BlockTarget,
                                kernel: KernelTargets, policy: ValidationPolicy = .init()) throws(SwcryptError) {
        func fail(_ message: String, _ code: ExitStatus = .failure) -> SwcryptError {
            SwcryptError(code, device: below.path, message, operation: "validate \(target.typeName) table")
        }
        let device = below.device
        // Sector numbers are checked against the largest device Linux can address
        // (2^63 bytes) before any arithmetic on them.
        for (what, value) in [("length", lengthSectors)] + target.sectorOffsets where value > TableLimits.maxSectors {
            throw fail("the \(what) \(value) sectors is beyond any block device (at most \(TableLimits.maxSectors))")
        }
        guard let version = kernel[target.typeName] ?? (target.typeName == "error" || target.typeName == "zero" ? TargetVersion(1, 0) : nil) else {
            throw fail("the running kernel has no '\(target.typeName)' device-mapper target (module dm-\(target.typeName) not loaded or not built)")
        }
        switch target {
        case .crypt(let c):
            try validateCrypt(c, lengthSectors: lengthSectors, device: device, kernel: kernel, version: version, policy: policy, fail: fail)
        case .integrity(let i):
            try validateIntegrity(i, lengthSectors: lengthSectors, device: device, kernel: kernel, version: version, fail: fail)
        case .linear(let l):
            try checkFits(offset: l.offset, length: lengthSectors, device: device, fail: fail)
        case .flakey(let f):
            try checkFits(offset: f.offset, length: lengthSectors, device: device, fail: fail)
        case .error, .zero:
            break
        }
    }

    static func checkFits(offset: UInt64, length: UInt64, device: BlockDevice,
                          fail: (String, ExitStatus) -> SwcryptError) throws(SwcryptError) {
        let deviceSectors = device.sizeBytes / 512
        let (end, overflow) = offset.addingReportingOverflow(length)
        if overflow || end > deviceSectors {
            let range = overflow ? "\(offset) + \(length)" : "\(offset)..<\(end)"
            throw fail("the mapping needs sectors \(range) but the device has \(deviceSectors) sectors", .wrongDevice)
        }
    }

    static func validateCrypt(_ c: CryptTarget, lengthSectors: UInt64, device: BlockDevice, kernel: KernelTargets,
                              version: TargetVersion, policy: ValidationPolicy,
                              fail: (String, ExitStatus) -> SwcryptError) throws(SwcryptError) {
        let sectorSize = c.sectorSize ?? 512
        guard [512, 1024, 2048, 4096].contains(sectorSize) else {
            throw fail("sector_size \(sectorSize) is not a power of two between 512 and 4096", .failure)
        }
        if sectorSize < device.logicalBlockSize {
            throw fail("sector_size \(sectorSize) is smaller than the device's logical block size \(device.logicalBlockSize)", .failure)
        }
        if (lengthSectors * 512) % UInt64(sectorSize) != 0 {
            throw fail("the mapping length \(lengthSectors * 512) bytes is not a multiple of sector_size \(sectorSize)", .failure)
        }
        if (c.offset * 512) % UInt64(sectorSize) != 0 {
            throw fail("the data offset \(c.offset) sectors is not a multiple of sector_size \(sectorSize)", .failure)
        }
        if device.sizeBytes % UInt64(sectorSize) != 0 {
            throw fail("the device size \(device.sizeBytes) bytes is not a multiple of sector_size \(sectorSize)", .wrongDevice)
        }
        try checkFits(offset: c.offset, length: lengthSectors, device: device, fail: fail)

        let caps = kernel.capabilities
        if (c.performance.noReadWorkqueue || c.performance.noWriteWorkqueue) && !caps.contains(.noWorkqueue) {
            throw fail("no_read_workqueue/no_write_workqueue need dm-crypt >= 1.22; the kernel has \(version)", .failure)
        }
        if c.performance.highPriority && !caps.contains(.highPriority) {
            throw fail("high_priority needs dm-crypt >= 1.26; the kernel has \(version)", .failure)
        }
        if c.integrityKeySize != nil && !caps.contains(.integrityKeySize) {
            throw fail("integrity_key_size needs dm-crypt >= 1.28; the kernel has \(version)", .failure)
        }
        if case .keyring(_, let type, _) = c.key {
            switch type {
            case "logon", "encrypted", "trusted": break
            case "user" where policy.allowInsecure: break
            case "user":
                throw fail("the key reference names a 'user' key, whose payload its owner's processes can read back (keyctl print); use a 'logon' key (or --allow-insecure)", .failure)
            default:
                throw fail("the key reference names key type '\(type)'; dm-crypt loads only logon, user, encrypted and trusted keys", .failure)
            }
        }
        if case .hex = c.key, !policy.allowInsecure {
            throw fail("the table carries a hex key; swcrypt loads keys through the kernel keyring only (:<size>:logon:<description>)", .failure)
        }

        let translated = c.cipher.cryptsetup
        let aeadMode = translated.map { $0.cipher.isAEAD || $0.integrity == .poly1305 } ?? false
        if aeadMode, let t = translated, !t.cipher.hasRandomIV, !policy.allowInsecure {
            throw fail("\(c.cipher) uses a deterministic IV (\(t.cipher.ivGenerator)) with an AEAD: the nonce repeats on every rewrite of a sector, which breaks the AEAD's security; use a 'random' IV (or --allow-insecure)", .failure)
        }

        guard let integrity = c.integrity else {
            if aeadMode || c.cipher.isAuthenticated {
                throw fail("\(c.cipher) is authenticated but the table has no integrity:<bytes>:aead argument", .failure)
            }
            return
        }
        if integrity.type == "none" && !policy.allowInsecure {
            throw fail("integrity:\(integrity.bytes):none stores IVs in the metadata but authenticates nothing; refusing to present it as authenticated encryption (--allow-insecure to accept)", .failure)
        }
        if integrity.type == "aead", let t = translated, let alg = t.integrity {
            let needed = AuthenticatedCipher(cipher: t.cipher, integrity: alg).metadataBytes
            if integrity.bytes != needed {
                throw fail("integrity:\(integrity.bytes) does not match \(t.cipher.cryptsetupName)/\(alg.cryptsetupName), which stores \(t.cipher.storedIVBytes) B IV + \(alg.tagBytes) B tag = \(needed) B per sector", .failure)
            }
        }
        if device.hasProtectionInformation {
            throw fail("the device's integrity profile \(device.integrity) is in use by protection information; its metadata is not free for tags", .wrongDevice)
        }
        let free = device.freeTagBytes
        if integrity.bytes > free {
            let what = (device.metadataBytes ?? 0) == 0 && device.integrity == .none
                ? "has no per-sector metadata (use a dm-integrity layer beneath: --emulate-metadata)"
                : "offers \(free) bytes of per-sector metadata"
            throw fail("the tag needs \(integrity.bytes) bytes per sector but the device \(what)", .wrongDevice)
        }
        if device.integrity == .nop {
            if !caps.contains(.cryptOnMetadata) {
                throw fail("dm-crypt directly on device metadata needs Linux 6.11 (dm-crypt >= 1.27); the kernel has dm-crypt \(version)", .failure)
            }
            if sectorSize != device.logicalBlockSize {
                throw fail("sector_size \(sectorSize) must equal the logical block size \(device.logicalBlockSize) when the tag lives in the device's metadata", .failure)
            }
        }
    }

    static func validateIntegrity(_ i: IntegrityTarget, lengthSectors: UInt64, device: BlockDevice, kernel: KernelTargets,
                                  version: TargetVersion, fail: (String, ExitStatus) -> SwcryptError) throws(SwcryptError) {
        let blockSize = i.blockSize ?? 512
        guard [512, 1024, 2048, 4096].contains(blockSize) else {
            throw fail("block_size \(blockSize) is not a power of two between 512 and 4096", .failure)
        }
        if blockSize < device.logicalBlockSize {
            throw fail("block_size \(blockSize) is smaller than the device's logical block size \(device.logicalBlockSize)", .failure)
        }
        if device.sizeBytes % UInt64(blockSize) != 0 {
            throw fail("the device size \(device.sizeBytes) bytes is not a multiple of block_size \(blockSize)", .wrongDevice)
        }
        if i.mode == .inline {
            if !kernel.capabilities.contains(.integrityInline) {
                throw fail("Inline mode needs dm-integrity >= 1.12 (Linux 6.11); the kernel has \(version)", .failure)
            }
            if device.hasProtectionInformation {
                throw fail("the device's integrity profile \(device.integrity) is in use by protection information; its metadata is not free for tags", .wrongDevice)
            }
            if device.freeTagBytes < i.tagSize || device.integrity != .nop {
                throw fail("Inline mode keeps the \(i.tagSize)-byte tag in the device's metadata, but the device offers \(device.freeTagBytes) bytes (profile \(device.integrity))", .wrongDevice)
            }
            if blockSize != device.logicalBlockSize {
                throw fail("Inline mode needs block_size equal to the logical block size \(device.logicalBlockSize), not \(blockSize)", .failure)
            }
        } else if i.tagSize == 0 && i.internalHash == nil {
            throw fail("a tag size of 0 needs internal_hash", .failure)
        }
        if i.mode == .bitmap && i.internalHash == nil {
            throw fail("dm-integrity's bitmap mode works only with an internal hash (the kernel refuses external tags such as dm-crypt's in bitmap mode: \"Bitmap mode can be only used with internal hash\"); use journal or direct under dm-crypt", .failure)
        }
        if i.mode == .inline && (i.journalSectors ?? 0) > 0 {
            throw fail("Inline mode has no journal; journal_sectors must be 0", .failure)
        }
    }
}
