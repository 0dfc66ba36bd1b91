import SwcryptCore
import SwcryptSystem

/// The kernel's part of choosing a cipher: whether it has aegis128 (the default)
/// and whether it can instantiate the chosen one (AF_ALG).
extension CipherChoice {
    static func choose(_ cipher: String?, _ integrity: String?, device: String) throws(SwcryptError) -> (CipherSpec, IntegrityAlgorithm?) {
        try resolve(cipher, integrity, device: device) {
            CryptoProbe.probe(type: "aead", name: "aegis128") == .available
        }
    }

    /// Refuses what the kernel cannot instantiate, before anything is written.
    static func requireKernelSupport(_ cipher: KernelCipher, device: String) throws(SwcryptError) {
        if CryptoProbe.probe(cipher) == .missing {
            throw SwcryptError(.failure, device: device,
                               "the kernel has no \(cipher.isAuthenticated ? "AEAD" : "cipher") '\(cipher.algorithm)' (AF_ALG probe: ENOENT); table load would fail with 'Error allocating crypto tfm (-ENOENT)'")
        }
    }
}
