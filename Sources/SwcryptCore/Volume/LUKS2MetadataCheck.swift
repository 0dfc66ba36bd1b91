/// swcrypt's own checks of LUKS2 metadata that libcryptsetup read and accepted.
///
/// libcryptsetup 2.8.8's pbkdf2 digest check (lib/luks2/luks2_digest_pbkdf2.c,
/// `PBKDF2_digest_verify`) returns success when the digest has no `digest` value,
/// when its salt is not 32 bytes, or when the digest's length is out of range:
/// `r` is 0 after the salt is decoded and those checks `goto out` without setting
/// it. Such a header opens with any passphrase (a wrong key: found by the header
/// corpus, `HeaderCorpusIntegrationTests`; `cryptsetup open --test-passphrase`
/// says "Key slot 0 unlocked." for a wrong one). swcrypt refuses such a header as
/// damaged before any keyslot is tried.
public enum LUKS2MetadataCheck {
    static let saltBytes = 32
    static let digestBytes = 20...64

    /// The problems found in `crypt_dump_json`'s metadata, one phrase each; empty
    /// when none.
    public static func problems(_ metadata: JSONValue) -> [String] {
        guard case .object(let digests)? = metadata["digests"] else { return ["no digests object"] }
        var found = [String]()
        for (id, digest) in digests {
            for (field, allowed) in [("salt", saltBytes...saltBytes), ("digest", digestBytes)] {
                guard case .string(let value)? = digest[field], !value.isEmpty else {
                    found.append("digest \(id) has no \(field) value (libcryptsetup would accept any passphrase)")
                    continue
                }
                guard let bytes = decodedLength(base64: value) else {
                    found.append("digest \(id)'s \(field) is not base64")
                    continue
                }
                if !allowed.contains(bytes) {
                    found.append("digest \(id)'s \(field) is \(bytes) bytes, not \(allowed.count == 1 ? "\(allowed.lowerBound)" : "\(allowed.lowerBound)-\(allowed.upperBound)") (libcryptsetup would accept any passphrase)")
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
