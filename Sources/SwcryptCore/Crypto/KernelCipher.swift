/// dm-crypt's cipher argument, and its translation to and from cryptsetup notation.
///
/// dm-crypt takes either the old `cipher-mode-iv[:ivopts]` form or the kernel
/// crypto API form `capi:<algorithm>-<iv>[:ivopts]`. Authenticated modes are
/// always written in the `capi:` form (as cryptsetup does), so that the AEAD is
/// explicit: `capi:gcm(aes)-random`, `capi:authenc(hmac(sha256),xts(aes))-random`.
public struct KernelCipher: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The table text, e.g. `capi:aegis128-random` or `aes-xts-plain64`.
    public var text: String

    public init(text: String) { self.text = text }

    public var description: String { text }

    var isCAPI: Bool { text.hasPrefix("capi:") }

    /// The IV generator with its options (`random`, `essiv:sha256`, `plain64`).
    var ivGenerator: String {
        if isCAPI {
            let body = text.dropFirst(5)
            guard let dash = firstTopLevel("-", in: body) else { return "" }
            return String(body[body.index(after: dash)...])
        }
        let parts = text.split(separator: "-", maxSplits: 2).map(String.init)
        return parts.count == 3 ? parts[2] : (parts.count == 2 ? parts[1] : "")
    }

    /// The crypto API algorithm: `gcm(aes)`, `authenc(hmac(sha256),xts(aes))`, `xts(aes)`.
    public var algorithm: String {
        if isCAPI {
            let body = text.dropFirst(5)
            guard let dash = firstTopLevel("-", in: body) else { return String(body) }
            return String(body[..<dash])
        }
        let parts = text.split(separator: "-", maxSplits: 2).map(String.init)
        if parts.count == 3 { return "\(parts[1])(\(parts[0]))" }
        return parts.first ?? ""
    }

    /// Builds the table cipher for a cryptsetup-style cipher and integrity choice.
    public init(_ spec: CipherSpec, integrity: IntegrityAlgorithm?) {
        let iv = spec.ivGenerator
        let base: String
        switch (spec.cipher, spec.mode) {
        case ("chacha20", ""): base = integrity == .poly1305 ? "rfc7539(chacha20,poly1305)" : "chacha20"
        case (_, ""): base = spec.cipher
        case (_, "ccm"): base = "rfc4309(ccm(\(spec.cipher)))"
        default: base = "\(spec.mode)(\(spec.cipher))"
        }
        switch integrity {
        case nil, .aead?, .poly1305?:
            if integrity == nil && !spec.mode.isEmpty {
                self.init(text: "\(spec.cipher)-\(spec.mode)-\(iv)")
            } else {
                self.init(text: "capi:\(base)-\(iv)")
            }
        case .hmac(let h)?:
            self.init(text: "capi:authenc(hmac(\(h.rawValue)),\(base))-\(iv)")
        case .cmacAES?:
            self.init(text: "capi:authenc(cmac(aes),\(base))-\(iv)")
        }
    }

    /// The cryptsetup-style cipher and integrity this table cipher stands for.
    public var cryptsetup: (cipher: CipherSpec, integrity: IntegrityAlgorithm?)? {
        let iv = ivGenerator
        guard !iv.isEmpty else { return nil }
        if !isCAPI {
            guard let spec = CipherSpec(cryptsetup: text) else { return nil }
            return (spec, nil)
        }
        var alg = algorithm
        var integrity: IntegrityAlgorithm? = nil
        if alg.hasPrefix("authenc(") && alg.hasSuffix(")") {
            let inner = String(alg.dropFirst("authenc(".count).dropLast())
            guard let comma = firstTopLevel(",", in: inner) else { return nil }
            let auth = String(inner[..<comma])
            alg = String(inner[inner.index(after: comma)...])
            if auth == "cmac(aes)" {
                integrity = .cmacAES
            } else if let h = IntegrityAlgorithm.HashAlgorithm.allCases.first(where: { auth == "hmac(\($0.rawValue))" }) {
                integrity = .hmac(h)
            } else {
                return nil
            }
        }
        if alg == "rfc7539(chacha20,poly1305)" {
            return (CipherSpec(cipher: "chacha20", mode: "", ivGenerator: iv), .poly1305)
        }
        if alg.hasPrefix("rfc4309(ccm(") && alg.hasSuffix("))") {
            let c = String(alg.dropFirst("rfc4309(ccm(".count).dropLast(2))
            return (CipherSpec(cipher: c, mode: "ccm", ivGenerator: iv), .aead)
        }
        if let open = alg.firstIndex(of: "("), alg.hasSuffix(")") {
            let mode = String(alg[..<open])
            let cipher = String(alg[alg.index(after: open)..<alg.index(before: alg.endIndex)])
            let spec = CipherSpec(cipher: cipher, mode: mode, ivGenerator: iv)
            return (spec, integrity ?? (spec.isAEAD ? .aead : nil))
        }
        // Stream AEADs named alone: aegis128, aegis256.
        let spec = CipherSpec(cipher: alg, mode: "", ivGenerator: iv)
        return (spec, integrity ?? (spec.isAEAD ? .aead : nil))
    }

    /// True for constructions whose own tag authenticates (AEAD or authenc).
    public var isAuthenticated: Bool {
        guard let c = cryptsetup else { return false }
        return c.integrity != nil
    }
}

/// The first `separator` not inside parentheses: the IV separator ('-') of a
/// capi: string, or the comma between authenc's two algorithms.
func firstTopLevel<S: StringProtocol>(_ separator: Character, in s: S) -> S.Index? {
    var depth = 0
    for i in s.indices {
        switch s[i] {
        case "(": depth += 1
        case ")": depth -= 1
        case separator where depth == 0: return i
        default: break
        }
    }
    return nil
}
