// fscrypt v2 policies and whether inline-encryption hardware can serve them
// (see InlineCryptoCapability.swift for how the kernel shows the hardware).

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
