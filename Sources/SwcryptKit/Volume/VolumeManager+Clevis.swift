import SwcryptCore
import SwcryptLUKS
import SwcryptKeys

/// Network-bound (tang) and TPM2 unlock through clevis, the tool fleets already
/// run. `clevis luks bind` calls the system's cryptsetup, which on Debian 12/13 and
/// Ubuntu 24.04 refuses inline volumes, so swcrypt does what it does through
/// libcryptsetup: a keyslot with a random passphrase, that passphrase encrypted by
/// `clevis encrypt PIN CONFIG`, and the JWE stored as a token in clevis's own
/// format (so `clevis luks list` reads it, and `clevis luks unlock` where the
/// system's cryptsetup is 2.8). `open` decrypts it with `clevis decrypt`.
extension VolumeManager {
    /// One clevis binding: the token, the keyslot it unlocks, the pin and its configuration.
    public struct ClevisBinding: Sendable, Equatable {
        public var tokenID: Int
        public var keyslot: Int
        /// As `clevis luks list` shows it: `tang '{"url":"http://tang.example"}'`.
        public var pin: String
    }

    static let clevisPrograms = ["/usr/bin/clevis", "/bin/clevis"]

    static func clevisProgram(device: String) throws(SwcryptError) -> String {
        guard let program = SecretPipe.find(clevisPrograms) else {
            throw SwcryptError(.failure, device: device, "clevis is not installed (Debian: apt install clevis, and clevis-tpm2 for TPM2)")
        }
        return program
    }

    /// The passphrase a binding's keyslot gets: 43 characters of [A-Za-z0-9_-]
    /// (258 bits from getrandom), printable as clevis's own (pwmake) ones are, so
    /// every clevis unlock path (cryptsetup -d-, the ask-password agents) takes it.
    static func clevisPassphrase() -> SecretBytes {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let raw = SecretBytes.random(count: 43)
        defer { raw.wipe() }
        let secret = SecretBytes(capacity: 43)
        raw.withUnsafeBytes { bytes in for b in bytes { secret.append(alphabet[Int(b & 63)]) } }
        return secret
    }

    /// `swcrypt clevis bind DEV PIN CONFIG`: authenticates with an existing
    /// passphrase, has clevis encrypt a new random one (which may ask on the terminal
    /// whether to trust a tang server's keys), then adds its keyslot and the token.
    /// A token that cannot be stored takes its keyslot away again.
    public func clevisBind(path: String, existing: PassphraseSource, pin: String, config: String, slot: Int?,
                           pbkdf: PBKDFChoice) throws(SwcryptError) -> ClevisBinding {
        try Self.requireRoot("clevis bind")
        try pbkdf.validate(device: path)
        let clevis = try Self.clevisProgram(device: path)
        let device = try header(forKeys: path)
        if let slot { try requireFreeSlot(slot, in: device, path: path) }
        let old = try existing.read(device: path)
        defer { old.wipe() }
        _ = try verified(old, in: device, slot: nil, path: path)
        let fresh = Self.clevisPassphrase()
        defer { fresh.wipe() }
        let encrypted = try SecretPipe(program: clevis, arguments: ["encrypt", pin, config], input: fresh).run(device: path)
        guard encrypted.status == 0 else {
            throw SwcryptError(.failure, device: path, "clevis encrypt \(pin) failed (exit status \(encrypted.status); its message is above); nothing was changed")
        }
        let jwe = encrypted.output.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        _ = try ClevisToken(keyslot: 0, compactJWE: jwe)   // refused before the header changes
        let added = try luks { () throws(LUKSError) in try device.addKeyslot(slot: slot, existing: old, new: fresh, pbkdf: pbkdf) }
        let token = try ClevisToken(keyslot: added, compactJWE: jwe)
        do {
            let id = try luks { () throws(LUKSError) in try device.importToken(token.json, id: nil) }
            return ClevisBinding(tokenID: id, keyslot: added, pin: token.pinDescription)
        } catch {
            try? luks { () throws(LUKSError) in try device.destroyKeyslot(added) }
            throw SwcryptError(.failure, device: path, "cannot store the clevis token (\(error.message)); keyslot \(added) was removed again")
        }
    }

    /// The clevis bindings of a header, as `clevis luks list`.
    public func clevisBindings(path: String) throws(SwcryptError) -> [ClevisBinding] {
        let device = try loadHeader(path)
        return try clevisTokens(device, path: path).map {
            ClevisBinding(tokenID: $0.id, keyslot: $0.token.keyslot, pin: $0.token.pinDescription)
        }
    }

    /// `swcrypt clevis unbind DEV -S N`: removes the clevis token of keyslot N and
    /// the keyslot (as `clevis luks unbind`). The last keyslot only with `force`.
    public func clevisUnbind(path: String, slot: Int, force: Bool) throws(SwcryptError) -> ClevisBinding {
        try Self.requireRoot("clevis unbind")
        let device = try header(forKeys: path)
        guard let bound = try clevisTokens(device, path: path).first(where: { $0.token.keyslot == slot }) else {
            throw SwcryptError(.failure, device: path, "no clevis token is bound to keyslot \(slot) (clevis list shows the bindings)")
        }
        try refuseLastSlot(slot, in: device, path: path, force: force)
        try luks { () throws(LUKSError) in
            try device.removeToken(bound.id)
            try device.destroyKeyslot(slot)
        }
        return ClevisBinding(tokenID: bound.id, keyslot: slot, pin: bound.token.pinDescription)
    }

    func clevisTokens(_ device: LUKSDevice, path: String) throws(SwcryptError) -> [(id: Int, token: ClevisToken)] {
        var found = [(id: Int, token: ClevisToken)]()
        for t in device.tokens where t.type == ClevisToken.type {
            let json = try luks { () throws(LUKSError) in try device.tokenJSON(t.id) }
            do { found.append((t.id, try ClevisToken(json: json))) } catch {
                Diagnostics.shared.log(.warning, "clevis", "\(path): token \(t.id) is of type clevis but unreadable: \(error.message)")
            }
        }
        return found
    }

    /// The passphrase a clevis token holds, from `clevis decrypt` (which asks tang
    /// or the TPM2), within `timeout` seconds; the token's keyslot beside it.
    func clevisDecrypt(_ token: ClevisToken, id: Int, timeout: Double, path: String) throws(SwcryptError) -> SecretBytes {
        let clevis = try Self.clevisProgram(device: path)
        let jwe = SecretBytes(copying: Array(token.compactJWE.utf8))
        defer { jwe.wipe() }
        let r = try SecretPipe(program: clevis, arguments: ["decrypt"], input: jwe, timeout: timeout, captureErrors: true)
            .run(device: path)
        if r.timedOut {
            throw SwcryptError(.permission, device: path, "clevis token \(id) (\(token.pinDescription)): clevis decrypt gave no answer within \(Int(timeout)) s (token-timeout)")
        }
        guard r.status == 0, r.output.count > 0 else {
            throw SwcryptError(.permission, device: path, "clevis token \(id) (\(token.pinDescription)): clevis decrypt failed (exit status \(r.status)\(r.lastErrorLine.map { ": \($0)" } ?? ""))")
        }
        return r.output
    }
}
