/// swcrypt's own checks of LUKS2 metadata that libcryptsetup read and accepted.
///
/// libcryptsetup 2.8.8 accepts a digest without its `digest` value: a keyslot
/// then "unlocks" with any passphrase (found by the header corpus,
/// `HeaderCorpusIntegrationTests`: `cryptsetup open --test-passphrase` said
/// "Key slot 0 unlocked." for a wrong one), and the volume would be opened with a
/// wrong key. swcrypt refuses such a header as damaged.
public enum LUKS2MetadataCheck {
    /// The problems found in `crypt_dump_json`'s metadata, one phrase each; empty
    /// when none.
    public static func problems(_ metadata: JSONValue) -> [String] {
        guard case .object(let digests)? = metadata["digests"] else { return ["no digests object"] }
        var found = [String]()
        for (id, digest) in digests {
            for field in ["digest", "salt"] {
                guard case .string(let value)? = digest[field], !value.isEmpty else {
                    found.append("digest \(id) has no \(field) value (libcryptsetup would accept any passphrase)")
                    continue
                }
                if value.count % 4 != 0 || !value.allSatisfy({ $0.isLetter || $0.isNumber || "+/=".contains($0) }) {
                    found.append("digest \(id)'s \(field) is not base64")
                }
            }
        }
        return found
    }
}
