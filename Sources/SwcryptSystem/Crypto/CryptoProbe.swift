import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Asks the kernel crypto API whether an algorithm can be instantiated, through
/// an AF_ALG socket (binding loads the module on demand, as dm-crypt's table load
/// would).
public enum CryptoProbe {
    /// available / missing (ENOENT) / unknown (no AF_ALG: cannot tell).
    public typealias Outcome = CryptoAvailability

    /// `type` is "aead" or "skcipher"; `name` a crypto API name such as `gcm(aes)`.
    public static func probe(type: String, name: String) -> Outcome {
        let fd = socket(AF_ALG, Int32(SOCK_SEQPACKET.rawValue), 0)
        guard fd >= 0 else {
            return .unknown("AF_ALG sockets unavailable (\(Errno(rawValue: errno).description)); CONFIG_CRYPTO_USER_API_AEAD missing?")
        }
        defer { close(fd) }
        if AFALG.bind(fd, type: type, name: name) == 0 { return .available }
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

    /// Algorithm names in /proc/crypto (those instantiated so far): evidence that
    /// remains when AF_ALG is not built.
    public static func procCryptoNames(procRoot: String = "/proc") -> Set<String> {
        ProcCrypto.names(Files.readText("\(procRoot)/crypto") ?? "")
    }
}
