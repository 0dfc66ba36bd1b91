internal import CCryptsetup
import SwcryptCore
import SystemPackage

/// LUKS2 tokens: what cryptsetup's token import/export/remove and
/// `open --token-only/--token-id/--token-type` do. Tokens of types libcryptsetup has
/// a handler for (luks2-keyring built in; systemd-tpm2, -fido2, -pkcs11 as external
/// plugins from the system's token directory) unlock through the library.
extension LUKSDevice {
    /// A token's JSON, as stored in the header.
    public func tokenJSON(_ id: Int) throws(LUKSError) -> String {
        var json: UnsafePointer<CChar>?
        _ = try call("read token \(id) of") { crypt_token_json_get(cd, Int32(id), &json) }
        return json.map { String(cString: $0) } ?? "{}"
    }

    /// Stores a token (`id`, or the first free one); returns its id.
    public func importToken(_ json: String, id: Int?) throws(LUKSError) -> Int {
        Int(try call("import a token into") { crypt_token_json_set(cd, Int32(id ?? Int(CRYPT_ANY_TOKEN)), json) })
    }

    public func removeToken(_ id: Int) throws(LUKSError) {
        _ = try call("remove token \(id) from") { crypt_token_json_set(cd, Int32(id), nil) }
    }

    /// Activates (or, with no name, only checks) through tokens: `id` or any,
    /// `type` or any. Returns the keyslot. ENOENT: no token could; EPERM: a token gave
    /// a passphrase that opened no slot; ENOANO: it wants a PIN; EAGAIN: its hardware is missing.
    public func activateByToken(name: String?, id: Int?, type: String?, readOnly: Bool,
                                performance: PerformanceFlags = PerformanceFlags(), allowDiscards: Bool = false) throws(LUKSError) -> Int {
        let flags = Self.activationFlags(readOnly: readOnly, performance: performance, allowDiscards: allowDiscards)
        return Int(try call(name == nil ? "check the tokens of" : "open through a token") {
            crypt_activate_by_token_pin(cd, name, type, Int32(id ?? Int(CRYPT_ANY_TOKEN)), nil, 0, nil, flags)
        })
    }
}
