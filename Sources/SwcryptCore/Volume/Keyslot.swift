/// One LUKS2 keyslot as `key list` shows it: what stretches its passphrase, how
/// it is tried, and which tokens unlock it.
public struct Keyslot: Equatable, Sendable {
    /// libcryptsetup's `crypt_keyslot_priority`: `ignore` slots are skipped when no
    /// slot is named, `prefer` ones are tried first.
    public enum Priority: String, Sendable {
        case ignore, normal, prefer
    }

    public var number: Int
    /// "argon2id", "argon2i", "pbkdf2".
    public var pbkdf: String
    /// pbkdf2's hash ("sha256"); nil for argon2.
    public var hash: String?
    /// Iterations (pbkdf2) or time cost (argon2).
    public var iterations: UInt32
    /// argon2 only.
    public var memoryKiB: UInt32?
    public var threads: UInt32?
    public var priority: Priority
    /// Tokens assigned to this slot (systemd-tpm2, clevis, ...).
    public var tokens: [Int]

    public init(number: Int, pbkdf: String, hash: String?, iterations: UInt32, memoryKiB: UInt32?, threads: UInt32?,
                priority: Priority, tokens: [Int]) {
        self.number = number
        self.pbkdf = pbkdf
        self.hash = hash
        self.iterations = iterations
        self.memoryKiB = memoryKiB
        self.threads = threads
        self.priority = priority
        self.tokens = tokens
    }
}

/// One LUKS2 token (`tokens` in the header): its type and the slots it unlocks.
public struct LUKSToken: Equatable, Sendable {
    public var id: Int
    /// "systemd-tpm2", "clevis", "luks2-keyring", ...
    public var type: String
    public var keyslots: [Int]

    public init(id: Int, type: String, keyslots: [Int]) {
        self.id = id
        self.type = type
        self.keyslots = keyslots
    }
}
