/// A LUKS2 token in clevis's own format, as `clevis luks bind` (clevis ≥ 12)
/// stores it and `clevis luks list`/`unlock` and clevis's systemd and dracut
/// hooks read it:
///
///     {"type":"clevis","keyslots":["1"],"jwe":{"protected":"…","encrypted_key":"",
///      "iv":"…","ciphertext":"…","tag":"…"}}
///
/// The JWE is what `clevis encrypt PIN CONFIG` made of the keyslot's passphrase,
/// in JOSE's JSON serialization (`jose jwe fmt -i- -o-`); `clevis decrypt` reads
/// it in the compact one (`protected.encrypted_key.iv.ciphertext.tag`, what
/// `jose jwe fmt -c` gives). Both are the same five base64url fields.
public struct ClevisToken: Equatable, Sendable {
    public static let type = "clevis"
    static let fields = ["protected", "encrypted_key", "iv", "ciphertext", "tag"]

    /// The keyslot whose passphrase the JWE holds.
    public var keyslot: Int
    /// The JWE in compact serialization, as `clevis encrypt` writes it and `clevis decrypt` reads it.
    public var compactJWE: String

    /// From `clevis encrypt`'s output. Refused unless it is five base64url fields
    /// whose protected header names a clevis pin.
    public init(keyslot: Int, compactJWE: String) throws(SwcryptError) {
        let text = String(compactJWE.filter { !$0.isWhitespace })
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts.allSatisfy(Self.isBase64URL), !parts[0].isEmpty else {
            throw SwcryptError(.failure, "clevis encrypt gave no compact JWE (five base64url fields separated by dots)")
        }
        self.keyslot = keyslot
        self.compactJWE = text
        _ = try header()
    }

    /// From a token's JSON as the LUKS2 header stores it.
    public init(json: String) throws(SwcryptError) {
        let value: JSONValue
        do { value = try JSONValue(parsing: json) } catch {
            throw SwcryptError(.failure, "the clevis token is not JSON: \(error)")
        }
        guard value["type"] == .string(Self.type) else {
            throw SwcryptError(.failure, "not a clevis token (its type is \(value["type"].map { "\($0.compactText)" } ?? "missing"))")
        }
        guard case .array(let slots)? = value["keyslots"], slots.count == 1,
              case .string(let s) = slots[0], let slot = Int(s) else {
            throw SwcryptError(.failure, "the clevis token does not name exactly one keyslot")
        }
        guard let jwe = value["jwe"], case .object = jwe else {
            throw SwcryptError(.failure, "the clevis token has no \"jwe\" object")
        }
        var parts = [String]()
        for field in Self.fields {
            switch jwe[field] {
            case .string(let s)?: parts.append(s)
            case nil where field == "encrypted_key": parts.append("")   // direct key agreement (tang, tpm2)
            default: throw SwcryptError(.failure, "the clevis token's JWE has no \"\(field)\" (an unprotected header cannot be written compactly)")
            }
        }
        try self.init(keyslot: slot, compactJWE: parts.joined(separator: "."))
    }

    /// The token's JSON for the LUKS2 header (clevis's format: the keyslot as a string).
    public var json: String {
        let parts = compactJWE.split(separator: ".", omittingEmptySubsequences: false)
        let jwe = zip(Self.fields, parts).map { "\"\($0)\":\"\($1)\"" }.joined(separator: ",")
        return "{\"type\":\"clevis\",\"keyslots\":[\"\(keyslot)\"],\"jwe\":{\(jwe)}}"
    }

    /// The pin (tang, tpm2, sss) and its configuration, read from the JWE's protected
    /// header, as `clevis luks list` shows them: `tang '{"url":"http://…"}'`.
    public var pinDescription: String {
        guard let h = try? header(), case .string(let pin)? = h["clevis"]?["pin"] else { return "clevis" }
        switch pin {
        case "tang":
            if case .string(let url)? = h["clevis"]?["tang"]?["url"] { return "tang '{\"url\":\"\(url)\"}'" }
        case "tpm2":
            // As clevis prints it: {"hash":"sha256","key":"ecc"} (no spaces, unlike
            // JSONValue's Python-style text).
            var config = [String]()
            for key in ["hash", "key", "pcr_bank", "pcr_ids"] {
                if let v = h["clevis"]?["tpm2"]?[key] { config.append("\"\(key)\":\(v.compactText)") }
            }
            return "tpm2 '{\(config.joined(separator: ","))}'"
        default:
            break
        }
        return pin
    }

    /// The protected header: a JSON object whose "clevis" member names the pin.
    func header() throws(SwcryptError) -> JSONValue {
        let b64 = String(compactJWE.prefix { $0 != "." })
        guard let bytes = Self.base64URLDecode(b64), let h = try? JSONValue(parsing: bytes),
              case .string? = h["clevis"]?["pin"] else {
            throw SwcryptError(.failure, "the JWE's protected header names no clevis pin: not made by clevis encrypt")
        }
        return h
    }

    static func isBase64URL(_ s: String) -> Bool {
        s.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }
    }

    /// RFC 4648 §5 without padding, as JOSE writes it.
    static func base64URLDecode(_ s: String) -> [UInt8]? {
        var out = [UInt8](), buffer: UInt32 = 0, bits = 0
        for c in s.utf8 {
            let v: UInt32
            switch c {
            case 65...90: v = UInt32(c - 65)
            case 97...122: v = UInt32(c - 97 + 26)
            case 48...57: v = UInt32(c - 48 + 52)
            case 45: v = 62
            case 95: v = 63
            default: return nil
            }
            buffer = buffer << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return out
    }
}
