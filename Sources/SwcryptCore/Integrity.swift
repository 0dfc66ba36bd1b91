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
        public var digestBytes: Int {
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

    /// cryptsetup's `--integrity` spelling.
    public var cryptsetupName: String {
        switch self {
        case .aead: return "aead"
        case .poly1305: return "poly1305"
        case .cmacAES: return "cmac-aes"
        case .hmac(let h): return "hmac-\(h.rawValue)"
        }
    }

    public init?(cryptsetupName: String) {
        switch cryptsetupName {
        case "aead": self = .aead
        case "poly1305": self = .poly1305
        case "cmac-aes", "cmac(aes)": self = .cmacAES
        default:
            for h in HashAlgorithm.allCases
            where cryptsetupName == "hmac-\(h.rawValue)" || cryptsetupName == "hmac(\(h.rawValue))" {
                self = .hmac(h)
                return
            }
            return nil
        }
    }
}

/// A cipher in cryptsetup notation: `cipher[-mode]-ivgen`, e.g. `aes-xts-random`,
/// `aegis128-random`, `aes-cbc-essiv:sha256`.
public struct CipherSpec: Equatable, Hashable, Sendable {
    public var cipher: String
    /// Chaining mode ("xts", "gcm", "cbc", "ccm", "ctr"); empty for stream AEADs
    /// such as aegis128 and chacha20.
    public var mode: String
    /// IV generator: "random", "plain64", "essiv:sha256", ...
    public var ivGenerator: String

    public init(cipher: String, mode: String, ivGenerator: String) {
        self.cipher = cipher
        self.mode = mode
        self.ivGenerator = ivGenerator
    }

    /// The characters a cipher, mode or IV generator name can hold (`essiv:sha256`,
    /// `xts`, `aegis128`; the kernel's `capi:` notation is translated before): anything else, white space above all, is refused here,
    /// before it can reach a table or libcryptsetup.
    public static func isName(_ part: String) -> Bool {
        !part.isEmpty && part.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == ":"
        }
    }

    public init?(cryptsetup text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy(CipherSpec.isName) else { return nil }
        switch parts.count {
        case 2: self.init(cipher: parts[0], mode: "", ivGenerator: parts[1])
        case 3: self.init(cipher: parts[0], mode: parts[1], ivGenerator: parts[2])
        default: return nil
        }
    }

    public var cryptsetupName: String {
        mode.isEmpty ? "\(cipher)-\(ivGenerator)" : "\(cipher)-\(mode)-\(ivGenerator)"
    }

    public var hasRandomIV: Bool { ivGenerator == "random" }

    /// Bytes of IV stored per sector: only random IVs are stored.
    public var storedIVBytes: Int {
        guard hasRandomIV else { return 0 }
        switch (cipher, mode) {
        case ("aegis128", _): return 16
        case ("aegis256", _): return 32
        case (_, "gcm"), ("chacha20", _): return 12
        case (_, "ccm"): return 8
        default: return 16
        }
    }
}

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
    public static func defaultChoice(aegis128Available: Bool) -> AuthenticatedCipher {
        aegis128Available ? common[0] : common[1]
    }
}
