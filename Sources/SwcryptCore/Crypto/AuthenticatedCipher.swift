/// An authenticated-encryption construction and what it needs per sector.
public struct AuthenticatedCipher: Equatable, Hashable, Sendable {
    public var cipher: CipherSpec
    public var integrity: IntegrityAlgorithm

    public init(cipher: CipherSpec, integrity: IntegrityAlgorithm) {
        self.cipher = cipher
        self.integrity = integrity
    }

    /// Metadata bytes needed per sector: stored IV + tag.
    public var metadataBytes: Int { cipher.storedIVBytes + integrity.tagBytes }

    /// `aegis128-random/aead`
    public var name: String { "\(cipher.cryptsetupName)/\(integrity.cryptsetupName)" }

    /// The constructions swcrypt reports on and offers, in order of preference.
    public static let common: [AuthenticatedCipher] = [
        .init(cipher: CipherSpec(cipher: "aegis128", mode: "", ivGenerator: "random"), integrity: .aead),
        .init(cipher: CipherSpec(cipher: "aes", mode: "gcm", ivGenerator: "random"), integrity: .aead),
        .init(cipher: CipherSpec(cipher: "chacha20", mode: "", ivGenerator: "random"), integrity: .poly1305),
        .init(cipher: CipherSpec(cipher: "aes", mode: "xts", ivGenerator: "random"), integrity: .hmac(.sha256)),
        .init(cipher: CipherSpec(cipher: "aes", mode: "xts", ivGenerator: "random"), integrity: .hmac(.sha512)),
    ]

    /// What `map crypt` and `format` use without --cipher: aegis128-random/aead when
    /// the kernel has aegis128, else aes-gcm-random/aead.
    static func defaultChoice(aegis128Available: Bool) -> AuthenticatedCipher {
        aegis128Available ? common[0] : common[1]
    }
}
