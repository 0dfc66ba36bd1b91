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
