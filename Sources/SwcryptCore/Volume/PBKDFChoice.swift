/// How a keyslot's passphrase is stretched (cryptsetup's --pbkdf, --iter-time,
/// --pbkdf-memory, --pbkdf-force-iterations), for `format` and for new keyslots.
/// Unset values are libcryptsetup's defaults for LUKS2 (argon2id, 2000 ms, 1 GiB).
public struct PBKDFChoice: Equatable, Sendable {
    /// "argon2id", "argon2i" or "pbkdf2".
    public var type = "argon2id"
    public var iterationTimeMs: UInt32?
    public var memoryKiB: UInt32?
    /// Fixed iterations, no benchmark (tests).
    public var forcedIterations: UInt32?

    public init() {}

    /// Refuses what cryptsetup refuses, naming `device`.
    public func validate(device: String) throws(SwcryptError) {
        switch type {
        case "argon2id", "argon2i":
            break
        case "pbkdf2":
            // As cryptsetup: PBKDF2 has no memory cost (GRUB can only unlock PBKDF2 keyslots).
            if memoryKiB != nil {
                throw SwcryptError(.failure, device: device, "--pbkdf-memory applies to argon2 only, not to --pbkdf pbkdf2")
            }
            if let forced = forcedIterations, forced < 1000 {
                throw SwcryptError(.failure, device: device, "--pbkdf pbkdf2 needs at least 1000 iterations, not \(forced)")
            }
        default:
            throw SwcryptError(.failure, device: device, "unknown PBKDF '\(type)' (want argon2id, argon2i or pbkdf2)")
        }
    }
}
