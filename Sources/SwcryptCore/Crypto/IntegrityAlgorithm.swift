/// Per-sector metadata math for authenticated encryption: what dm-crypt stores in
/// each sector's metadata is the random IV (only for `random` IV generators) plus
/// the authentication tag.
public enum IntegrityAlgorithm: Equatable, Hashable, Sendable {
    /// The cipher is an AEAD (gcm, ccm, aegis128, rfc7539): its own 16-byte tag.
    case aead
    case poly1305
    case cmacAES
    case hmac(HashAlgorithm)

    public enum HashAlgorithm: String, Sendable, CaseIterable {
        case sha1, sha256, sha512
        var digestBytes: Int {
            switch self {
            case .sha1: return 20
            case .sha256: return 32
            case .sha512: return 64
            }
        }
    }

    /// Tag bytes per sector.
    public var tagBytes: Int {
        switch self {
        case .aead, .poly1305, .cmacAES: return 16
        case .hmac(let h): return h.digestBytes
        }
    }

    public static let allCases: [IntegrityAlgorithm] = [.aead, .poly1305, .cmacAES] + HashAlgorithm.allCases.map { .hmac($0) }

    /// cryptsetup's `--integrity` spelling: "hmac-sha256".
    public var cryptsetupName: String {
        switch self {
        case .aead: return "aead"
        case .poly1305: return "poly1305"
        case .cmacAES: return "cmac-aes"
        case .hmac(let h): return "hmac-\(h.rawValue)"
        }
    }

    /// libcryptsetup's (and the LUKS2 header's) spelling: "hmac(sha256)".
    public var libcryptsetupName: String {
        switch self {
        case .aead, .poly1305: return cryptsetupName
        case .cmacAES: return "cmac(aes)"
        case .hmac(let h): return "hmac(\(h.rawValue))"
        }
    }

    /// Either spelling, as cryptsetup's `--integrity` accepts both.
    public init?(cryptsetupName name: String) {
        guard let a = Self.allCases.first(where: { $0.cryptsetupName == name || $0.libcryptsetupName == name }) else { return nil }
        self = a
    }
}
