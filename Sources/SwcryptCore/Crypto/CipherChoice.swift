/// Picking a cipher, integrity algorithm and key size from what the user typed
/// (`--cipher`, `--integrity`, `--key-size`), for `map crypt` and `format`: once,
/// into CipherSpec and IntegrityAlgorithm; everything below is typed.
public enum CipherChoice {
    /// The default is aegis128-random/aead when the kernel has aegis128 (asked only
    /// when no cipher is given), else aes-gcm-random/aead. Accepts cryptsetup's
    /// notation and the kernel's (`capi:gcm(aes)-random`, translated).
    public static func resolve(_ cipher: String?, _ integrity: String?, device: String,
                               aegis128Available: () -> Bool) throws(SwcryptError) -> (CipherSpec, IntegrityAlgorithm?) {
        let text = cipher ?? AuthenticatedCipher.defaultChoice(aegis128Available: aegis128Available()).cipher.cryptsetupName
        /// --integrity: nil when not given, .some(nil) for none.
        func named() throws(SwcryptError) -> IntegrityAlgorithm?? {
            guard let name = integrity else { return nil }
            if name == "none" { return .some(nil) }
            guard let a = IntegrityAlgorithm(cryptsetupName: name) else {
                throw SwcryptError(.failure, device: device, "unknown integrity '\(name)' (aead, poly1305, hmac-sha256, hmac-sha512, none)")
            }
            return a
        }
        if text.hasPrefix("capi:") {
            // The kernel's own notation (dm-crypt tables, Mikulas Patocka's examples):
            // translated to cryptsetup's, so that one model reaches the table and the probe.
            guard let (spec, implied) = KernelCipher(text: text).cryptsetup,
                  [spec.cipher, spec.mode, spec.ivGenerator].allSatisfy({ $0.isEmpty || CipherSpec.isName($0) }) else {
                throw SwcryptError(.failure, device: device, "unknown cipher '\(text)' (kernel notation: capi:<crypto API name>-<iv>, e.g. capi:gcm(aes)-random, capi:authenc(hmac(sha256),xts(aes))-random)")
            }
            let alg = implied ?? spec.defaultIntegrity
            if let named = try named(), named != alg {
                throw SwcryptError(.failure, device: device, "--integrity \(integrity ?? "") contradicts the cipher '\(text)', which means \(alg?.cryptsetupName ?? "none")")
            }
            return (spec, alg)
        }
        guard let spec = CipherSpec(cryptsetup: text) else {
            throw SwcryptError(.failure, device: device, "unknown cipher '\(text)' (want cipher-mode-iv, e.g. aes-gcm-random, aegis128-random, aes-xts-random, or the kernel's capi:gcm(aes)-random)")
        }
        return (spec, try named() ?? spec.defaultIntegrity)
    }

    /// Key bytes: the cipher's key (from --key-size bits or its default) plus the MAC key for authenc.
    public static func keyBytes(_ spec: CipherSpec, _ integrity: IntegrityAlgorithm?, bits: Int?, device: String) throws(SwcryptError) -> Int {
        let b = bits ?? spec.defaultKeyBits
        guard b > 0, b % 8 == 0 else {
            throw SwcryptError(.failure, device: device, "--key-size \(b) is not a whole number of bytes")
        }
        var bytes = b / 8
        if case .hmac(let h)? = integrity { bytes += h.digestBytes }
        if case .cmacAES? = integrity { bytes += 16 }
        return bytes
    }
}
