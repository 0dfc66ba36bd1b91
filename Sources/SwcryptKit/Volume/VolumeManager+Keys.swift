import SwcryptCore
import SwcryptLUKS
import SwcryptSystem
import SwcryptKeys
#if canImport(Glibc)
import Glibc
#endif

/// `swcrypt key add|change|remove|kill|list`: cryptsetup's luksAddKey,
/// luksChangeKey, luksRemoveKey and luksKillSlot, with the same semantics, through
/// the same libcryptsetup calls (which take the header's metadata lock).
extension VolumeManager {
    /// The slots (PBKDFs, priorities, tokens) and tokens of a LUKS2 header, on a
    /// device or in a header backup file.
    public func keyslots(path: String) throws(SwcryptError) -> ([Keyslot], [LUKSToken]) {
        let device = try loadHeader(path)
        return (device.keyslots, device.tokens)
    }

    /// Adds a keyslot for `new`, authenticated by an existing passphrase; returns its number.
    public func addKey(path: String, existing: PassphraseSource, new: PassphraseSource, slot: Int?,
                       pbkdf: PBKDFChoice) throws(SwcryptError) -> Int {
        try Self.requireRoot("key add")
        try pbkdf.validate(device: path)
        let device = try header(forKeys: path)
        if let slot { try requireFreeSlot(slot, in: device, path: path) }
        let old = try existing.read(device: path)
        defer { old.wipe() }
        _ = try verified(old, in: device, slot: nil, path: path)
        let fresh = try new.read(device: path)
        defer { fresh.wipe() }
        return try luks { () throws(LUKSError) in try device.addKeyslot(slot: slot, existing: old, new: fresh, pbkdf: pbkdf) }
    }

    /// Replaces the passphrase of the slot `old` opens, in that slot.
    public func changeKey(path: String, old: PassphraseSource, new: PassphraseSource, slot: Int?,
                          pbkdf: PBKDFChoice) throws(SwcryptError) -> Int {
        try Self.requireRoot("key change")
        try pbkdf.validate(device: path)
        let device = try header(forKeys: path)
        let current = try old.read(device: path)
        defer { current.wipe() }
        let opened = try verified(current, in: device, slot: slot, path: path)
        let fresh = try new.read(device: path)
        defer { fresh.wipe() }
        return try luks { () throws(LUKSError) in
            try device.changeKeyslot(slot: opened, old: current, new: fresh, pbkdf: pbkdf)
        }
    }

    /// Wipes the slot the passphrase opens. The last slot only with `force`: without
    /// a keyslot the volume cannot be opened again (its data is lost unless a header
    /// backup with other keyslots exists).
    public func removeKey(path: String, passphrase: PassphraseSource, force: Bool) throws(SwcryptError) -> Int {
        try Self.requireRoot("key remove")
        let device = try header(forKeys: path)
        let secret = try passphrase.read(device: path)
        defer { secret.wipe() }
        let slot = try verified(secret, in: device, slot: nil, path: path)
        try refuseLastSlot(slot, in: device, path: path, force: force)
        try luks { () throws(LUKSError) in try device.destroyKeyslot(slot) }
        return slot
    }

    /// Wipes slot `slot`. Unless `unchecked` (batch mode), a passphrase of another
    /// slot must be given and open, so that the volume stays openable (as
    /// cryptsetup's luksKillSlot asks for "any remaining passphrase").
    public func killSlot(path: String, slot: Int, remaining: PassphraseSource?, force: Bool) throws(SwcryptError) {
        try Self.requireRoot("key kill")
        let device = try header(forKeys: path)
        guard device.keyslots.contains(where: { $0.number == slot }) else {
            throw SwcryptError(.failure, device: path, "keyslot \(slot) is not in use")
        }
        try refuseLastSlot(slot, in: device, path: path, force: force)
        if let remaining {
            let secret = try remaining.read(device: path)
            defer { secret.wipe() }
            let opened = try verified(secret, in: device, slot: nil, path: path)
            if opened == slot {
                throw SwcryptError(.failure, device: path, "the passphrase given opens keyslot \(slot), the one to be removed; give a passphrase of a slot that stays (nothing was changed)")
            }
        }
        try luks { () throws(LUKSError) in try device.destroyKeyslot(slot) }
    }

    // MARK: helpers

    func header(forKeys path: String, strict: Bool = true) throws(SwcryptError) -> LUKSDevice {
        _ = try resolver.resolve(path)
        return try loadHeader(path, strict: strict)
    }

    /// The slot the passphrase opens; a wrong one is exit 2, as cryptsetup's.
    func verified(_ secret: SecretBytes, in device: LUKSDevice, slot: Int?, path: String) throws(SwcryptError) -> Int {
        do {
            return try device.verify(passphrase: secret, slot: slot)
        } catch where error.errno == .notPermitted {
            throw SwcryptError(.permission, device: path, slot.map { "keyslot \($0) does not open with this passphrase" }
                               ?? "no keyslot opens with this passphrase", errno: error.errno)
        } catch where error.errno == .noSuchFileOrDirectory && slot != nil {
            throw SwcryptError(.failure, device: path, "keyslot \(slot!) is not in use", errno: error.errno)
        } catch {
            throw SwcryptError(luks: error)
        }
    }

    func requireFreeSlot(_ slot: Int, in device: LUKSDevice, path: String) throws(SwcryptError) {
        if device.keyslots.contains(where: { $0.number == slot }) {
            throw SwcryptError(.busy, device: path, "keyslot \(slot) is in use; choose a free one or leave out --key-slot")
        }
    }

    func refuseLastSlot(_ slot: Int, in device: LUKSDevice, path: String, force: Bool) throws(SwcryptError) {
        let others = device.keyslots.filter { $0.number != slot }
        guard others.isEmpty, !force else { return }
        throw SwcryptError(.failure, device: path,
                           "keyslot \(slot) is the last one: without it no passphrase opens the volume and its data is lost for good (unless a header backup holds other keyslots); --force to remove it anyway")
    }
}
