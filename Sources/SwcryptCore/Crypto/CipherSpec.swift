/// A cipher in cryptsetup notation: `cipher[-mode]-ivgen`, e.g. `aes-xts-random`,
/// `aegis128-random`, `aes-cbc-essiv:sha256`.
public struct CipherSpec: Equatable, Hashable, Sendable {
    public var cipher: String
    /// Chaining mode ("xts", "gcm", "cbc", "ccm", "ctr"); empty for stream AEADs
    /// such as aegis128 and chacha20.
    public var mode: String
    /// IV generator: "random", "plain64", "essiv:sha256", ...
    var ivGenerator: String

    public init(cipher: String, mode: String, ivGenerator: String) {
        self.cipher = cipher
        self.mode = mode
        self.ivGenerator = ivGenerator
    }

    /// The characters a cipher, mode or IV generator name can hold (`essiv:sha256`,
    /// `xts`, `aegis128`; the kernel's `capi:` notation is translated before): anything else, white space above all, is refused here,
    /// before it can reach a table or libcryptsetup.
    static func isName(_ part: String) -> Bool {
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

    var hasRandomIV: Bool { ivGenerator == "random" }

    /// libcryptsetup's split: the cipher ("aes") and the mode with the IV ("gcm-random";
    /// "random" alone for stream AEADs).
    public var libcryptsetupMode: String { mode.isEmpty ? ivGenerator : "\(mode)-\(ivGenerator)" }

    /// An AEAD: the cipher brings its own tag (gcm, ccm, aegis128, aegis256).
    var isAEAD: Bool { ["gcm", "ccm"].contains(mode) || cipher.hasPrefix("aegis") }

    /// What it authenticates with when --integrity is not given: the AEAD's own tag,
    /// poly1305 for chacha20, nothing otherwise.
    var defaultIntegrity: IntegrityAlgorithm? {
        if isAEAD { return .aead }
        if cipher == "chacha20" { return .poly1305 }
        return nil
    }

    /// The key size without --key-size, in bits (cryptsetup's defaults).
    var defaultKeyBits: Int {
        switch (cipher, mode) {
        case ("aegis128", _): return 128
        case ("aegis256", _), ("chacha20", _): return 256
        case (_, "xts"): return 512
        default: return 256
        }
    }

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
