import SwcryptCore
import SwcryptLUKS

/// `swcrypt token list|export|import|remove`, as cryptsetup's token actions.
extension VolumeManager {
    public func tokens(path: String) throws(SwcryptError) -> [LUKSToken] {
        try loadHeader(path).tokens
    }

    /// A token's JSON as the header stores it.
    public func exportToken(path: String, id: Int) throws(SwcryptError) -> String {
        let device = try loadHeader(path)
        guard device.tokens.contains(where: { $0.id == id }) else {
            throw SwcryptError(.failure, device: path, "token \(id) is not in use")
        }
        return try luks { () throws(LUKSError) in try device.tokenJSON(id) }
    }

    /// Stores a token (libcryptsetup checks its JSON: a "type", "keyslots" that exist);
    /// returns its id. An id in use is refused.
    public func importToken(path: String, json: String, id: Int?) throws(SwcryptError) -> Int {
        try Self.requireRoot("token import")
        let device = try header(forKeys: path)
        if let id, device.tokens.contains(where: { $0.id == id }) {
            throw SwcryptError(.busy, device: path, "token \(id) is in use; remove it first or leave out --token-id")
        }
        do {
            return try device.importToken(json, id: id)
        } catch where error.errno == .invalidArgument {
            throw SwcryptError(.failure, device: path, "libcryptsetup refused the token: \(error.messages.last ?? "not a valid LUKS2 token (a JSON object with \"type\" and \"keyslots\" naming existing slots)")", errno: error.errno)
        } catch {
            throw SwcryptError(luks: error)
        }
    }

    public func removeToken(path: String, id: Int) throws(SwcryptError) {
        try Self.requireRoot("token remove")
        let device = try header(forKeys: path)
        guard device.tokens.contains(where: { $0.id == id }) else {
            throw SwcryptError(.failure, device: path, "token \(id) is not in use")
        }
        try luks { () throws(LUKSError) in try device.removeToken(id) }
    }
}
