import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Asks the kernel crypto API whether an algorithm can be instantiated, through
/// an AF_ALG socket (binding loads the module on demand, as dm-crypt's table load
/// would).
public enum CryptoProbe {
    public enum Outcome: Equatable, Sendable {
        case available
        /// The kernel has no such algorithm (ENOENT).
        case missing
        /// AF_ALG (CONFIG_CRYPTO_USER_API_AEAD/SKCIPHER) is not there: cannot tell.
        case unknown(String)
    }

    /// `type` is "aead" or "skcipher"; `name` a crypto API name such as `gcm(aes)`.
    public static func probe(type: String, name: String) -> Outcome {
        let fd = socket(AF_ALG, Int32(SOCK_SEQPACKET.rawValue), 0)
        guard fd >= 0 else {
            return .unknown("AF_ALG sockets unavailable (\(Errno(rawValue: errno).description)); CONFIG_CRYPTO_USER_API_AEAD missing?")
        }
        defer { close(fd) }
        // struct sockaddr_alg { u16 family; u8 type[14]; u32 feat; u32 mask; u8 name[64]; } (linux/if_alg.h)
        var address = [UInt8](repeating: 0, count: 88)
        address[0] = UInt8(AF_ALG & 0xff)
        address[1] = UInt8(AF_ALG >> 8)
        for (i, b) in type.utf8.prefix(13).enumerated() { address[2 + i] = b }
        for (i, b) in name.utf8.prefix(63).enumerated() { address[24 + i] = b }
        let rc = address.withUnsafeBytes { raw in
            bind(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        if rc == 0 { return .available }
        switch errno {
        case ENOENT: return .missing
        case EAFNOSUPPORT: return .unknown("AF_ALG type '\(type)' not supported by this kernel (CONFIG_CRYPTO_USER_API_\(type.uppercased()))")
        default: return .unknown("AF_ALG bind \(type) \(name): \(Errno(rawValue: errno).description)")
        }
    }

    /// The crypto API algorithm and AF_ALG type dm-crypt will allocate for a table cipher.
    public static func probe(_ cipher: KernelCipher) -> Outcome {
        let authenticated = cipher.isAuthenticated
        return probe(type: authenticated ? "aead" : "skcipher", name: cipher.algorithm)
    }
}
