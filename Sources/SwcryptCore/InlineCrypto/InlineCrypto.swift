// Inline-encryption capabilities (blk-crypto) and what they mean for fscrypt.
//
// How the kernel shows them (Documentation/ABI/stable/sysfs-block, block/blk-crypto-sysfs.c):
// /sys/block/<disk>/queue/crypto/ exists only when the disk has an inline-encryption
// profile (CONFIG_BLK_INLINE_ENCRYPTION and a driver that registers hardware). In it:
//   max_dun_bits       8 * the profile's max_dun_bytes_supported: the widest data unit
//                      number (the IV) a request may carry;
//   num_keyslots       how many keys the hardware holds at once;
//   modes/<MODE>       one file per supported algorithm ("AES-256-XTS",
//                      "AES-128-CBC-ESSIV", "Adiantum", "SM4-XTS"), holding "0x..." — a
//                      bitmask where bit n set means data units of 2^n bytes work
//                      (0x1200 = 512 and 4096);
//   hw_wrapped_keys, raw_keys  (Linux 6.15+) present, reading "supported", when the
//                      hardware takes that kind of key; absent on older kernels, so
//                      "not shown" is not "unsupported".
//
// A device-mapper device gets a profile only if every target in its table passes
// crypto through (DM_TARGET_PASSES_CRYPTO: linear and flakey in 6.12; dm-thin since
// 6.17). Its profile is the intersection of the underlying devices' (dm-table.c,
// blk_crypto_intersect_capabilities): a mode survives if all have it, with the AND of
// the data-unit masks; max_dun_bits is the minimum. The mapping's own profile has no
// keyslots (it programs the keys of the devices below), so its num_keyslots reads 0;
// what bounds concurrent keys is the smallest keyslot count below, reported as such.
//
// fscrypt (fs/crypto/inline_crypt.c, policy.c; Documentation/filesystems/fscrypt.rst),
// v2 policies with AES-256-XTS contents, when mounted with -o inlinecrypt:
//   default          one key per file, DUN = the data unit's index in the file; needs
//                    ceil(bits of the filesystem's largest data-unit index / 8) bytes of
//                    DUN: ext4 (4096-byte blocks) 32 bits, f2fs 30 -> 32 bits.
//   IV_INO_LBLK_64   one key per master key, DUN = inode number << 32 | index: 64 bits.
//                    Meant for UFS (64-bit DUNs, few keyslots).
//   IV_INO_LBLK_32   one key per master key, DUN = (SipHash(inode number) + index) mod 2^32:
//                    32 bits. Meant for eMMC (32-bit DUNs, few keyslots).
// Both IV_INO_LBLK_* need AES-256-XTS contents, 32-bit inode numbers, data-unit
// indices that fit in 32 bits (so data unit = filesystem block on ext4), and stable
// inode numbers: ext4 only with the stable_inodes feature (which makes resize2fs refuse
// to shrink, since shrinking renumbers inodes), f2fs always. Hardware-wrapped keys are
// only usable with IV_INO_LBLK_*.
// The data unit is the filesystem block size unless the policy sets log2_data_unit_size.
//
// On "moving data": no fscrypt policy uses the block address as DUN — DUNs are
// file-relative (plus the inode number for IV_INO_LBLK_*). The filesystem may therefore
// relocate blocks (f2fs garbage collection rewrites them through the inode, with the
// same DUNs), but with IV_INO_LBLK_* it must never give a file a different inode number.
// ext4 refuses online defragmentation (EXT4_IOC_MOVE_EXT) of encrypted files under
// every policy. Only a scheme whose DUN is the sector number (no fscrypt policy; e.g. a
// block-level encryption target keyed by sector) ties ciphertext to its address, so that
// it cannot be copied elsewhere without re-encryption.

/// One inline-encryption algorithm and its data-unit sizes.
public struct InlineCryptoMode: Equatable, Sendable {
    public var name: String
    /// Bit n set: data units of 2^n bytes.
    public var dataUnitMask: UInt64

    public init(name: String, dataUnitMask: UInt64) {
        self.name = name
        self.dataUnitMask = dataUnitMask
    }

    public var dataUnitSizes: [Int] {
        (0..<63).filter { dataUnitMask & (1 << UInt64($0)) != 0 }.map { 1 << $0 }
    }

    func supports(dataUnitSize: Int) -> Bool {
        guard dataUnitSize > 0, dataUnitSize & (dataUnitSize - 1) == 0 else { return false }
        return dataUnitMask & UInt64(dataUnitSize) != 0
    }

    /// The sysfs text, e.g. "0x1200".
    public var maskText: String { "0x" + String(dataUnitMask, radix: 16) }
}

/// What /sys/block/X/queue/crypto/ shows for one device, or the combination for a mapping.
public struct InlineCryptoCapability: Equatable, Sendable {
    /// Sorted by name.
    public var modes: [InlineCryptoMode]
    public var maxDUNBits: Int
    public var keyslots: Int
    /// nil: the kernel does not say (before 6.15).
    public var hardwareWrappedKeys: Bool?
    public var rawKeys: Bool?

    public init(modes: [InlineCryptoMode], maxDUNBits: Int, keyslots: Int,
                hardwareWrappedKeys: Bool? = nil, rawKeys: Bool? = nil) {
        self.modes = modes.sorted { $0.name < $1.name }
        self.maxDUNBits = maxDUNBits
        self.keyslots = keyslots
        self.hardwareWrappedKeys = hardwareWrappedKeys
        self.rawKeys = rawKeys
    }

    public func mode(_ name: String) -> InlineCryptoMode? { modes.first { $0.name == name } }

    /// What a passthrough mapping (linear, flakey) over all of `capabilities` can
    /// use: modes all have, data-unit masks ANDed, the smallest DUN width and
    /// keyslot count; a key type only if all take it. nil if any device has none.
    public static func intersection(_ capabilities: [InlineCryptoCapability?]) -> InlineCryptoCapability? {
        guard let first = capabilities.first, var result = first else { return nil }
        for c in capabilities.dropFirst() {
            guard let c else { return nil }
            result.modes = result.modes.compactMap { m in
                guard let other = c.mode(m.name) else { return nil }
                let mask = m.dataUnitMask & other.dataUnitMask
                return mask == 0 ? nil : InlineCryptoMode(name: m.name, dataUnitMask: mask)
            }
            result.maxDUNBits = min(result.maxDUNBits, c.maxDUNBits)
            result.keyslots = min(result.keyslots, c.keyslots)
            result.hardwareWrappedKeys = both(result.hardwareWrappedKeys, c.hardwareWrappedKeys)
            result.rawKeys = both(result.rawKeys, c.rawKeys)
        }
        return result
    }

    private static func both(_ a: Bool?, _ b: Bool?) -> Bool? {
        if a == false || b == false { return false }
        if let a, let b { return a && b }
        return nil
    }

    public var summary: String {
        let modeText = modes.isEmpty ? "no modes"
            : modes.map { "\($0.name) data units \($0.dataUnitSizes.map(String.init).joined(separator: ","))" }
                .joined(separator: "; ")
        var keys = [String]()
        if hardwareWrappedKeys == true { keys.append("hardware-wrapped") }
        if rawKeys == true { keys.append("raw") }
        return "\(modeText); max DUN bits \(maxDUNBits); \(keyslots) keyslots"
            + (keys.isEmpty ? "" : "; keys: " + keys.joined(separator: ", "))
    }
}

extension InlineCryptoCapability {
    /// What a live mapping offering `live` would lose if its table were replaced
    /// by one over devices offering `new` (their intersection). The kernel refuses
    /// such a table load: dm_table_construct_crypto_profile() requires the new
    /// profile to have every mode and data-unit size, at least the DUN width and
    /// every key type of the live one ("Inline encryption capabilities of new DM
    /// table were more restrictive than the old table's"). Keyslot counts do not
    /// count. Empty when nothing would be lost (or the live mapping has nothing).
    public static func reloadLosses(live: InlineCryptoCapability?, new: InlineCryptoCapability?) -> [String] {
        guard let live else { return [] }
        guard let new else { return ["all of it (\(live.summary)): the new devices have no common inline encryption"] }
        var lost = [String]()
        for m in live.modes {
            guard let n = new.mode(m.name) else { lost.append("mode \(m.name)"); continue }
            let gone = m.dataUnitSizes.filter { !n.supports(dataUnitSize: $0) }
            if !gone.isEmpty { lost.append("\(m.name) data units \(gone.map(String.init).joined(separator: ","))") }
        }
        if new.maxDUNBits < live.maxDUNBits { lost.append("DUN bits \(live.maxDUNBits) -> \(new.maxDUNBits)") }
        if live.hardwareWrappedKeys == true && new.hardwareWrappedKeys != true { lost.append("hardware-wrapped keys") }
        if live.rawKeys == true && new.rawKeys == false { lost.append("raw keys") }
        return lost
    }
}

/// fscrypt v2 policies for AES-256-XTS contents.
public enum FscryptPolicy: String, Sendable, CaseIterable, Codable {
    case perFileKeys = "default"
    case ivInoLblk64 = "IV_INO_LBLK_64"
    case ivInoLblk32 = "IV_INO_LBLK_32"

    public static let contentsMode = "AES-256-XTS"
}

/// The filesystem facts fscrypt's DUN width depends on.
public struct FscryptFilesystem: Equatable, Sendable {
    public var name: String
    public var blockSize: Int
    /// log2 of the largest file size in bytes, rounded up: fls64(s_maxbytes - 1).
    var maxFileSizeBits: Int
    var stableInodesNote: String

    /// ext4 with extents: s_maxbytes = (2^32 - 1) * block size.
    public static func ext4(blockSize: Int = 4096) -> FscryptFilesystem {
        FscryptFilesystem(name: "ext4", blockSize: blockSize, maxFileSizeBits: 32 + log2(blockSize),
                          stableInodesNote: "ext4 allows it only with the stable_inodes feature (mkfs.ext4/tune2fs -O stable_inodes), after which resize2fs refuses to shrink the filesystem")
    }

    /// f2fs with 4096-byte blocks: 923 + 2*1018 + 2*1018^2 + 1018^3 blocks < 2^30, so < 2^42 bytes.
    public static func f2fs() -> FscryptFilesystem {
        FscryptFilesystem(name: "f2fs", blockSize: 4096, maxFileSizeBits: 42,
                          stableInodesNote: "f2fs never renumbers inodes")
    }

    /// Bits of the largest data-unit index in a file.
    func maxFileDataUnitBits(dataUnitSize: Int) -> Int {
        maxFileSizeBits - log2(dataUnitSize)
    }
}

func log2(_ n: Int) -> Int { n <= 1 ? 0 : Int.bitWidth - 1 - n.leadingZeroBitCount }

/// Whether the hardware (or passthrough mapping) can serve one policy on one filesystem.
public struct FscryptPolicyEvaluation: Equatable, Sendable {
    public var policy: FscryptPolicy
    public var filesystem: String
    public var dataUnitSize: Int
    /// DUN bits the blk-crypto key asks the hardware for (whole bytes, as fscrypt asks).
    public var dunBitsNeeded: Int?
    /// The hardware can do it.
    public var hardware: Bool
    /// Why not, when `hardware` is false (or why the policy itself is impossible).
    public var reasons: [String]
    /// What choosing it implies.
    public var notes: [String]
    /// The policy is possible on this filesystem at all (independent of hardware).
    public var policyAllowed: Bool
}

public enum FscryptInlineCrypt {
    /// Evaluates each AES-256-XTS v2 policy against a capability (nil: no hardware).
    static func evaluate(_ capability: InlineCryptoCapability?, filesystem fs: FscryptFilesystem,
                                dataUnitSize: Int? = nil) -> [FscryptPolicyEvaluation] {
        let du = dataUnitSize ?? fs.blockSize
        let fileBits = fs.maxFileDataUnitBits(dataUnitSize: du)
        return FscryptPolicy.allCases.map { policy in
            var reasons = [String](), notes = [String]()
            var allowed = true
            let dunBytes: Int
            switch policy {
            case .perFileKeys:
                dunBytes = (fileBits + 7) / 8
                notes.append("DUN = the data unit's index in the file (up to \(fileBits) bits on \(fs.name) with \(du)-byte data units)")
                if let c = capability {
                    notes.append("one key per file: every file with I/O in flight takes one of the \(c.keyslots) keyslots; more files than keyslots means keys are evicted and reprogrammed")
                } else {
                    notes.append("one key per file: every file with I/O in flight takes a keyslot")
                }
                notes.append("cannot use hardware-wrapped keys (only IV_INO_LBLK_64/32 can)")
            case .ivInoLblk64, .ivInoLblk32:
                dunBytes = policy == .ivInoLblk64 ? 8 : 4
                if fileBits > 32 {
                    allowed = false
                    reasons.append("\(policy.rawValue) needs data-unit indices within 32 bits, but \(fs.name) files reach \(fileBits) bits with \(du)-byte data units (use the filesystem block size)")
                }
                if policy == .ivInoLblk64 {
                    notes.append("DUN = inode number << 32 | data-unit index; one key per master key, so a handful of keyslots suffice (designed for UFS)")
                } else {
                    notes.append("DUN = (SipHash of the inode number + data-unit index) mod 2^32; one key per master key (designed for eMMC's 32-bit DUNs); DUNs of different files can coincide under the same key")
                }
                notes.append("the inode number is part of the DUN: a file's data is tied to its inode number, not to its block addresses; \(fs.stableInodesNote)")
            }
            let needed = dunBytes * 8
            var hardware = allowed
            if let c = capability {
                if let mode = c.mode(FscryptPolicy.contentsMode) {
                    if !mode.supports(dataUnitSize: du) {
                        hardware = false
                        reasons.append("\(FscryptPolicy.contentsMode) has no \(du)-byte data units (only \(mode.dataUnitSizes.map(String.init).joined(separator: ", ")))")
                    }
                } else {
                    hardware = false
                    reasons.append("no \(FscryptPolicy.contentsMode) mode (modes: \(c.modes.isEmpty ? "none" : c.modes.map(\.name).joined(separator: ", ")))")
                }
                if c.maxDUNBits < needed {
                    hardware = false
                    reasons.append("needs \(needed) DUN bits, the hardware has \(c.maxDUNBits)")
                }
                if c.keyslots == 0 {
                    hardware = false
                    reasons.append("no keyslots")
                }
            } else {
                hardware = false
                reasons.append("no inline-encryption hardware")
            }
            return FscryptPolicyEvaluation(policy: policy, filesystem: fs.name, dataUnitSize: du,
                                           dunBitsNeeded: needed, hardware: hardware, reasons: reasons,
                                           notes: notes, policyAllowed: allowed)
        }
    }
}

/// Whether the kernel can do inline encryption in software when the hardware cannot.
public struct BlkCryptoFallback: Equatable, Sendable {
    /// nil: no kernel configuration found to tell.
    public var enabled: Bool?
    /// CONFIG_BLK_INLINE_ENCRYPTION, if known.
    public var blockLayerSupport: Bool?
    /// Where it was read, or what was tried.
    public var source: String

    public init(enabled: Bool?, blockLayerSupport: Bool?, source: String) {
        self.enabled = enabled
        self.blockLayerSupport = blockLayerSupport
        self.source = source
    }

    /// From kernel .config text: "CONFIG_X=y", "# CONFIG_X is not set", or absent
    /// (FALLBACK depends on BLK_INLINE_ENCRYPTION and is absent without it).
    /// `source` becomes the evidence: "CONFIG_…=y in <path>".
    public static func parse(config text: String, source path: String) -> BlkCryptoFallback {
        func value(_ option: String) -> Bool {
            text.split(separator: "\n").contains { $0 == "\(option)=y" }
        }
        let fallback = value("CONFIG_BLK_INLINE_ENCRYPTION_FALLBACK")
        let block = value("CONFIG_BLK_INLINE_ENCRYPTION")
        let evidence: String
        switch (fallback, block) {
        case (true, _): evidence = "CONFIG_BLK_INLINE_ENCRYPTION_FALLBACK=y in \(path)"
        case (false, false): evidence = "CONFIG_BLK_INLINE_ENCRYPTION is not set in \(path)"
        case (false, true): evidence = "CONFIG_BLK_INLINE_ENCRYPTION_FALLBACK not set in \(path)"
        }
        return BlkCryptoFallback(enabled: fallback, blockLayerSupport: block, source: evidence)
    }

    /// From the running kernel itself, when no config file is installed (a
    /// self-built kernel): blk-crypto's `num_prealloc_crypt_ctxs` parameter (mode
    /// 0444, so /sys/module/blk_crypto/parameters/ has it exactly when
    /// CONFIG_BLK_INLINE_ENCRYPTION=y) and the fallback's functions in
    /// /proc/kallsyms (its own parameters have mode 0 and never show in sysfs).
    /// nil when neither source could be read.
    public static func fromRunningKernel(blkCryptoParameter: Bool, kallsyms: String?, kallsymsPath: String) -> BlkCryptoFallback? {
        guard let kallsyms else {
            if blkCryptoParameter {
                return BlkCryptoFallback(enabled: nil, blockLayerSupport: true,
                                         source: "/sys/module/blk_crypto exists (CONFIG_BLK_INLINE_ENCRYPTION=y), \(kallsymsPath) unreadable")
            }
            return nil
        }
        // Lines are "<address> <type> <name>[\t[module]]"; built-in code has no module.
        let fallback = (kallsyms + "\n").contains(" blk_crypto_fallback_bio_prep\n")
        let block = blkCryptoParameter || fallback
        let evidence: String
        switch (fallback, block) {
        case (true, _): evidence = "\(kallsymsPath) has blk_crypto_fallback_bio_prep"
        case (false, true): evidence = "/sys/module/blk_crypto exists but \(kallsymsPath) has no blk_crypto_fallback_bio_prep"
        case (false, false): evidence = "no /sys/module/blk_crypto and no blk_crypto_fallback_* in \(kallsymsPath): CONFIG_BLK_INLINE_ENCRYPTION is off"
        }
        return BlkCryptoFallback(enabled: fallback, blockLayerSupport: block, source: evidence)
    }

    public var summary: String {
        switch (enabled, blockLayerSupport) {
        case (true?, _):
            return "blk-crypto-fallback: built in (\(source)): fscrypt's inlinecrypt works in software on any device, without hardware speed"
        case (false?, false?):
            return "blk-crypto-fallback: no (\(source)): this kernel has no inline encryption at all"
        case (false?, _):
            return "blk-crypto-fallback: no (\(source)): inlinecrypt works only on devices with hardware"
        case (nil, _):
            return "blk-crypto-fallback: unknown (\(source))"
        }
    }
}

/// `swcrypt inline-crypto`: each device's capability, the passthrough combination, and fscrypt's options.
public struct InlineCryptoReport: Equatable, Sendable {
    public struct Device: Equatable, Sendable {
        public var path: String
        /// Where it was looked for (/sys/block/X/queue/crypto).
        public var sysfsPath: String
        public var capability: InlineCryptoCapability?

        public init(path: String, sysfsPath: String, capability: InlineCryptoCapability?) {
            self.path = path
            self.sysfsPath = sysfsPath
            self.capability = capability
        }
    }

    public var devices: [Device]
    public var fallback: BlkCryptoFallback
    public var dataUnitSize: Int?
    /// For more than one device: what a linear/flakey mapping over all of them exposes.
    public var passthrough: InlineCryptoCapability?
    /// The capability the evaluations are for: the single device's, or the passthrough one.
    public var effective: InlineCryptoCapability?
    public var evaluations: [FscryptPolicyEvaluation]

    public init(devices: [Device], fallback: BlkCryptoFallback, dataUnitSize: Int? = nil,
                filesystems: [FscryptFilesystem] = [.ext4(), .f2fs()]) {
        self.devices = devices
        self.fallback = fallback
        self.dataUnitSize = dataUnitSize
        let passthrough = devices.count > 1 ? InlineCryptoCapability.intersection(devices.map(\.capability)) : nil
        let effective = devices.count > 1 ? passthrough : devices.first?.capability
        self.passthrough = passthrough
        self.effective = effective
        evaluations = filesystems.flatMap {
            FscryptInlineCrypt.evaluate(effective, filesystem: $0, dataUnitSize: dataUnitSize)
        }
    }

    public var hasHardware: Bool { effective != nil }

    public static let noHardware = "no inline-encryption hardware (no queue/crypto)"
}
