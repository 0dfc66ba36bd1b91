internal import CCryptsetup
import SwcryptCore
import SwcryptKeys
import SystemPackage

/// Keyslots, tokens and the header as a whole (backup, restore, JSON dump): what
/// cryptsetup's luksAddKey, luksChangeKey, luksRemoveKey, luksKillSlot,
/// luksHeaderBackup/Restore and luksDump --dump-json-metadata do, through the same calls.
extension LUKSDevice {
    /// The active keyslots, with their PBKDF, priority and tokens.
    public var keyslots: [Keyslot] {
        let tokens = self.tokens
        let max = crypt_keyslot_max(CRYPT_LUKS2)
        guard max > 0 else { return [] }
        return (0..<max).compactMap { n -> Keyslot? in
            let status = crypt_keyslot_status(cd, n)
            guard status == CRYPT_SLOT_ACTIVE || status == CRYPT_SLOT_ACTIVE_LAST else { return nil }
            var p = crypt_pbkdf_type()
            _ = crypt_keyslot_get_pbkdf(cd, n, &p)
            let type = p.type.map { String(cString: $0) } ?? "unknown"
            let argon = type.hasPrefix("argon2")
            let priority: Keyslot.Priority
            switch crypt_keyslot_get_priority(cd, n) {
            case CRYPT_SLOT_PRIORITY_IGNORE: priority = .ignore
            case CRYPT_SLOT_PRIORITY_PREFER: priority = .prefer
            default: priority = .normal
            }
            return Keyslot(number: Int(n), pbkdf: type, hash: argon ? nil : p.hash.map { String(cString: $0) },
                           iterations: p.iterations, memoryKiB: argon ? p.max_memory_kb : nil,
                           threads: argon ? p.parallel_threads : nil, priority: priority,
                           tokens: tokens.filter { $0.keyslots.contains(Int(n)) }.map(\.id))
        }
    }

    /// The header's tokens (any type, including ones no plugin here handles).
    public var tokens: [LUKSToken] {
        let max = crypt_token_max(CRYPT_LUKS2)
        let slots = crypt_keyslot_max(CRYPT_LUKS2)
        guard max > 0 else { return [] }
        return (0..<max).compactMap { id -> LUKSToken? in
            var type: UnsafePointer<CChar>?
            let status = crypt_token_status(cd, id, &type)
            guard status != CRYPT_TOKEN_INVALID && status != CRYPT_TOKEN_INACTIVE else { return nil }
            let assigned = slots > 0 ? (0..<slots).filter { crypt_token_is_assigned(cd, id, $0) == 0 }.map { Int($0) } : []
            return LUKSToken(id: Int(id), type: type.map { String(cString: $0) } ?? "unknown", keyslots: assigned)
        }
    }

    /// The slot `passphrase` opens (`slot` only, or any), without activating anything.
    /// EPERM: no such slot opens with it.
    public func verify(passphrase: SecretBytes, slot: Int?) throws(LUKSError) -> Int {
        Int(try call("check the passphrase of") {
            passphrase.withUnsafeBytes { raw in
                crypt_activate_by_passphrase(cd, nil, Int32(slot ?? Int(CRYPT_ANY_SLOT)),
                                             raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, 0)
            }
        })
    }

    /// Adds a keyslot (`slot` or the first free) for `new`, unlocked by `existing`.
    public func addKeyslot(slot: Int?, existing: SecretBytes, new: SecretBytes, pbkdf: PBKDFChoice) throws(LUKSError) -> Int {
        let (_, strings) = try setPBKDF(pbkdf)
        defer { withExtendedLifetime(strings) {} }
        return Int(try call("add a keyslot to") {
            existing.withUnsafeBytes { old in
                new.withUnsafeBytes { fresh in
                    crypt_keyslot_add_by_passphrase(cd, Int32(slot ?? Int(CRYPT_ANY_SLOT)),
                                                    old.baseAddress?.assumingMemoryBound(to: CChar.self), old.count,
                                                    fresh.baseAddress?.assumingMemoryBound(to: CChar.self), fresh.count)
                }
            }
        })
    }

    /// Replaces the passphrase of the slot `old` opens (`slot` only, or any), in
    /// the same slot, as cryptsetup's luksChangeKey.
    public func changeKeyslot(slot: Int?, old: SecretBytes, new: SecretBytes, pbkdf: PBKDFChoice) throws(LUKSError) -> Int {
        let (_, strings) = try setPBKDF(pbkdf)
        defer { withExtendedLifetime(strings) {} }
        let n = Int32(slot ?? Int(CRYPT_ANY_SLOT))
        return Int(try call("change a keyslot of") {
            old.withUnsafeBytes { o in
                new.withUnsafeBytes { f in
                    crypt_keyslot_change_by_passphrase(cd, n, n, o.baseAddress?.assumingMemoryBound(to: CChar.self), o.count,
                                                       f.baseAddress?.assumingMemoryBound(to: CChar.self), f.count)
                }
            }
        })
    }

    /// Wipes a keyslot (its key material is overwritten in the header).
    public func destroyKeyslot(_ slot: Int) throws(LUKSError) {
        _ = try call("remove keyslot \(slot) of") { crypt_keyslot_destroy(cd, Int32(slot)) }
    }

    /// Writes the header and keyslot area to `file` (created; an existing file is refused).
    public func backupHeader(to file: String) throws(LUKSError) {
        _ = try call("back up the header of") { crypt_header_backup(cd, CRYPT_LUKS2, file) }
    }

    /// Writes the header and keyslots from `file` over the device's.
    public func restoreHeader(from file: String) throws(LUKSError) {
        _ = try call("restore the header of") { crypt_header_restore(cd, CRYPT_LUKS2, file) }
    }

    /// The complete LUKS2 metadata as libcryptsetup's JSON dump (the header's JSON area).
    public func metadataJSON() throws(LUKSError) -> String {
        var json: UnsafePointer<CChar>?
        _ = try call("dump the metadata of") { crypt_dump_json(cd, &json, 0) }
        return json.map { String(cString: $0) } ?? "{}"
    }
}
