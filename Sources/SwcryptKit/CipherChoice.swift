import SwcryptCore
import SwcryptKernel

/// Picking a cipher, integrity algorithm and key size, for `map crypt` and `format`.
public enum CipherChoice {
    /// Default and explicit choice; the default is aegis128-random/aead when the
    /// kernel has aegis128, else aes-gcm-random/aead.
    public static func choose(_ cipher: String?, _ integrity: String?, device: String) throws(SwcryptError) -> (CipherSpec, IntegrityAlgorithm?) {
        let text = cipher ?? AuthenticatedCipher.defaultChoice(
            aegis128Available: CryptoProbe.probe(type: "aead", name: "aegis128") == .available).cipher.cryptsetupName
        if text.hasPrefix("capi:") {
            // The kernel's own notation (dm-crypt tables, Mikulas Patocka's examples):
            // translated to cryptsetup's, so that one model reaches the table and the probe.
            guard let (spec, implied) = KernelCipher(text: text).cryptsetup,
                  [spec.cipher, spec.mode, spec.ivGenerator].allSatisfy({ $0.isEmpty || CipherSpec.isName($0) }) else {
                throw SwcryptError(.failure, device: device, "unknown cipher '\(text)' (kernel notation: capi:<crypto API name>-<iv>, e.g. capi:gcm(aes)-random, capi:authenc(hmac(sha256),xts(aes))-random)")
            }
            let named = try integrity.map { name throws(SwcryptError) -> IntegrityAlgorithm? in
                if name == "none" { return nil }
                guard let a = IntegrityAlgorithm(cryptsetupName: name) else {
                    throw SwcryptError(.failure, device: device, "unknown integrity '\(name)' (aead, poly1305, hmac-sha256, hmac-sha512, none)")
                }
                return a
            }
            let alg = implied ?? defaultIntegrity(for: spec)
            if let named, named != alg {
                throw SwcryptError(.failure, device: device, "--integrity \(integrity ?? "") contradicts the cipher '\(text)', which means \(alg?.cryptsetupName ?? "none")")
            }
            return (spec, alg)
        }
        guard let spec = CipherSpec(cryptsetup: text) else {
            throw SwcryptError(.failure, device: device, "unknown cipher '\(text)' (want cipher-mode-iv, e.g. aes-gcm-random, aegis128-random, aes-xts-random, or the kernel's capi:gcm(aes)-random)")
        }
        let alg: IntegrityAlgorithm?
        if let integrity {
            if integrity == "none" { alg = nil }
            else {
                guard let a = IntegrityAlgorithm(cryptsetupName: integrity) else {
                    throw SwcryptError(.failure, device: device, "unknown integrity '\(integrity)' (aead, poly1305, hmac-sha256, hmac-sha512, none)")
                }
                alg = a
            }
        } else {
            alg = defaultIntegrity(for: spec)
        }
        return (spec, alg)
    }

    /// What a cipher authenticates with when --integrity is not given.
    static func defaultIntegrity(for spec: CipherSpec) -> IntegrityAlgorithm? {
        if ["gcm", "ccm"].contains(spec.mode) || spec.cipher.hasPrefix("aegis") { return .aead }
        if spec.cipher == "chacha20" { return .poly1305 }
        return nil
    }

    /// Refuses what the kernel cannot instantiate, before anything is written.
    public static func requireKernelSupport(_ cipher: KernelCipher, device: String) throws(SwcryptError) {
        if CryptoProbe.probe(cipher) == .missing {
            throw SwcryptError(.failure, device: device,
                               "the kernel has no \(cipher.isAuthenticated ? "AEAD" : "cipher") '\(cipher.algorithm)' (AF_ALG probe: ENOENT); table load would fail with 'Error allocating crypto tfm (-ENOENT)'")
        }
    }

    /// Key bytes: the cipher's key (from --key-size bits or its default) plus the MAC key for authenc.
    public static func keyBytes(_ spec: CipherSpec, _ integrity: IntegrityAlgorithm?, bits: Int?, device: String) throws(SwcryptError) -> Int {
        let defaultBits: Int
        switch (spec.cipher, spec.mode) {
        case ("aegis128", _): defaultBits = 128
        case ("aegis256", _), ("chacha20", _): defaultBits = 256
        case (_, "xts"): defaultBits = 512
        default: defaultBits = 256
        }
        let b = bits ?? defaultBits
        guard b > 0, b % 8 == 0 else {
            throw SwcryptError(.failure, device: device, "--key-size \(b) is not a whole number of bytes")
        }
        var bytes = b / 8
        if case .hmac(let h)? = integrity { bytes += h.digestBytes }
        if case .cmacAES? = integrity { bytes += 16 }
        return bytes
    }
}
