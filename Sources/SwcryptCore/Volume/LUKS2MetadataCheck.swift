/// swcrypt's own checks of LUKS2 metadata that libcryptsetup read and accepted.
///
/// libcryptsetup 2.8.8's pbkdf2 digest check (lib/luks2/luks2_digest_pbkdf2.c,
/// `PBKDF2_digest_verify`) returns success when the digest has no `digest` value,
/// when its salt is not 32 bytes, or when the digest is neither 20 bytes nor its
/// hash's size:
/// `r` is 0 after the salt is decoded and those checks `goto out` without setting
/// it. Such a header opens with any passphrase (a wrong key: found by the header
/// corpus, `HeaderCorpusIntegrationTests`; `cryptsetup open --test-passphrase`
/// says "Key slot 0 unlocked." for a wrong one). swcrypt refuses such a header as
/// damaged before any keyslot is tried.
public enum LUKS2MetadataCheck {
    static let saltBytes = 32
    /// Digest sizes of the hashes libcryptsetup's backends know, by LUKS2 name.
    static let hashBytes: [String: Int] = [
        "sha1": 20, "ripemd160": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64,
        "sha3-224": 28, "sha3-256": 32, "sha3-384": 48, "sha3-512": 64, "sm3": 32, "whirlpool": 64,
        "stribog256": 32, "stribog512": 64, "blake2b-512": 64, "blake2s-256": 32,
    ]
    static let anyPassphrase = "(libcryptsetup would accept any passphrase)"

    /// The problems found in `crypt_dump_json`'s metadata, one phrase each; empty
    /// when none. `PBKDF2_digest_verify` accepts a digest value of 20 bytes or of
    /// the hash's size (anything else, or a hash it does not know, "verifies").
    public static func problems(_ metadata: JSONValue) -> [String] {
        guard case .object(let digests)? = metadata["digests"] else { return ["no digests object"] }
        var found = [String]()
        for (id, digest) in digests {
            var hashSize: Int?
            if case .string(let hash)? = digest["hash"] { hashSize = hashBytes[hash.lowercased()] }
            for field in ["salt", "digest"] {
                guard case .string(let value)? = digest[field] else {
                    // A missing salt is refused by libcryptsetup itself (EINVAL); a missing digest is not.
                    found.append("digest \(id) has no \(field) value" + (field == "digest" ? " \(anyPassphrase)" : ""))
                    continue
                }
                guard let bytes = decodedLength(base64: value) else {
                    found.append("digest \(id)'s \(field) is not base64")
                    continue
                }
                if field == "salt", bytes != saltBytes {
                    found.append("digest \(id)'s salt is \(bytes) bytes, not \(saltBytes) \(anyPassphrase)")
                }
                if field == "digest", bytes != 20, bytes != hashSize {
                    let allowed = hashSize.map { $0 == 20 ? "20" : "20 or \($0)" } ?? "20 (its hash is unknown)"
                    found.append("digest \(id)'s digest is \(bytes) bytes, not \(allowed) \(anyPassphrase)")
                }
            }
        }
        return found
    }

    /// The number of bytes a padded base64 text decodes to; nil when it is not base64.
    static func decodedLength(base64 text: String) -> Int? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        let padding = chars.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        guard padding <= 2 else { return nil }
        let isBase64: (UInt8) -> Bool = { c in
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 43 || c == 47
        }
        guard chars.dropLast(padding).allSatisfy(isBase64) else { return nil }
        return chars.count / 4 * 3 - padding
    }
}
