import CSwcryptShim
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// AF_ALG, the kernel crypto API's socket interface (linux/if_alg.h,
/// Documentation/crypto/userspace-if.rst).
enum AFALG {
    /// Binds `fd` to an algorithm; 0 or -1 with errno set.
    static func bind(_ fd: Int32, type: String, name: String) -> Int32 {
        // struct sockaddr_alg { u16 family; u8 type[14]; u32 feat; u32 mask; u8 name[64]; } (linux/if_alg.h)
        var address = [UInt8](repeating: 0, count: 88)
        address[0] = UInt8(AF_ALG & 0xff)
        address[1] = UInt8(AF_ALG >> 8)
        for (i, b) in type.utf8.prefix(13).enumerated() { address[2 + i] = b }
        for (i, b) in name.utf8.prefix(63).enumerated() { address[24 + i] = b }
        return address.withUnsafeBytes { raw in
            Glibc.bind(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
    }
}

/// How fast the kernel encrypts sectors with an AEAD, measured through AF_ALG the
/// way dm-crypt uses it: one request per 4 KiB sector, associated data = 8-byte
/// sector number + IV (crypt_convert_block_aead), tag appended. One thread, no
/// parallelism: a floor for what dm-crypt gets per CPU.
public enum AEADBenchmark {
    public struct Parameters: Sendable, Equatable {
        /// Crypto API name: "aegis128", "gcm(aes)", "authenc(hmac(sha256),xts(aes))".
        public var algorithm: String
        public var encryptionKeyBytes: Int
        /// For authenc(): the MAC key, packed with the cipher key as the kernel's
        /// crypto_authenc_extractkeys expects. 0 for plain AEADs.
        public var authenticationKeyBytes: Int
        public var ivBytes: Int
        public var tagBytes: Int
        var sectorBytes: Int

        public init(algorithm: String, encryptionKeyBytes: Int, authenticationKeyBytes: Int = 0,
                    ivBytes: Int, tagBytes: Int, sectorBytes: Int = 4096) {
            self.algorithm = algorithm
            self.encryptionKeyBytes = encryptionKeyBytes
            self.authenticationKeyBytes = authenticationKeyBytes
            self.ivBytes = ivBytes
            self.tagBytes = tagBytes
            self.sectorBytes = sectorBytes
        }
    }

    /// A failed AF_ALG step.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var operation: String
        public var errno: Errno?
        public var description: String {
            operation + (errno.map { ": \($0.description)" } ?? "")
        }
    }

    /// MiB/s encrypting `sectorBytes` at a time for about `seconds`.
    public static func run(_ p: Parameters, seconds: Double = 0.15) -> Result<Double, Failure> {
        func failure(_ operation: String) -> Result<Double, Failure> {
            .failure(Failure(operation: operation, errno: Errno(rawValue: errno)))
        }
        let tfm = socket(AF_ALG, Int32(SOCK_SEQPACKET.rawValue), 0)
        guard tfm >= 0 else { return failure("socket(AF_ALG)") }
        defer { close(tfm) }
        guard AFALG.bind(tfm, type: "aead", name: p.algorithm) == 0 else { return failure("bind aead \(p.algorithm)") }

        let key = keyBytes(p)
        let keyResult = key.withUnsafeBytes { setsockopt(tfm, SOL_ALG, ALG_SET_KEY, $0.baseAddress, socklen_t($0.count)) }
        guard keyResult == 0 else { return failure("setsockopt ALG_SET_KEY (\(key.count) bytes)") }
        // The tag size is passed as the option length, with no value (af_alg's convention).
        guard setsockopt(tfm, SOL_ALG, ALG_SET_AEAD_AUTHSIZE, nil, socklen_t(p.tagBytes)) == 0 else {
            return failure("setsockopt ALG_SET_AEAD_AUTHSIZE \(p.tagBytes)")
        }
        let op = accept(tfm, nil, nil)
        guard op >= 0 else { return failure("accept") }
        defer { close(op) }

        // Associated data as dm-crypt's: sector number (8 bytes) and IV.
        let assocLength = 8 + p.ivBytes
        // Fixed, non-secret IV: a benchmark; dm-crypt's random IV generator draws a new one per write.
        let iv = (0..<p.ivBytes).map { UInt8(truncatingIfNeeded: 0xa5 &+ $0) }
        var control = [UInt8]()
        appendControl(&control, type: ALG_SET_OP, data: bytes(of: UInt32(ALG_OP_ENCRYPT)))
        appendControl(&control, type: ALG_SET_IV, data: bytes(of: UInt32(p.ivBytes)) + iv)
        appendControl(&control, type: ALG_SET_AEAD_ASSOCLEN, data: bytes(of: UInt32(assocLength)))

        var input = [UInt8](repeating: 0x5a, count: assocLength + p.sectorBytes)
        // Encryption output: associated data, ciphertext, tag.
        var output = [UInt8](repeating: 0, count: assocLength + p.sectorBytes + p.tagBytes)
        var encrypted = 0
        let start = monotonicSeconds()
        var elapsed = 0.0
        repeat {
            let sent = input.withUnsafeMutableBytes { inputBytes in
                control.withUnsafeMutableBytes { controlBytes in
                    var iov = iovec(iov_base: inputBytes.baseAddress, iov_len: inputBytes.count)
                    return withUnsafeMutablePointer(to: &iov) { iovPointer in
                        var message = msghdr()
                        message.msg_iov = iovPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        return sendmsg(op, &message, 0)
                    }
                }
            }
            guard sent == input.count else { return failure("sendmsg (\(input.count) bytes)") }
            let received = output.withUnsafeMutableBytes { read(op, $0.baseAddress, $0.count) }
            guard received == output.count else {
                return received < 0 ? failure("read") : .failure(Failure(operation: "read: \(received) bytes, expected \(output.count)"))
            }
            encrypted += p.sectorBytes
            elapsed = monotonicSeconds() - start
        } while elapsed < seconds
        return .success(Double(encrypted) / 1_048_576 / max(elapsed, 1e-9))
    }

    /// The key for setsockopt(ALG_SET_KEY). The bytes are a fixed, non-secret
    /// pattern: this is a benchmark, not a key anything is encrypted under.
    /// authenc() takes an rtattr (CRYPTO_AUTHENC_KEYA_PARAM) holding the cipher
    /// key's length big-endian, then the MAC key, then the cipher key
    /// (crypto/authenc.c, crypto_authenc_extractkeys).
    static func keyBytes(_ p: Parameters) -> [UInt8] {
        func pattern(_ count: Int, _ seed: Int) -> [UInt8] {
            (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ seed) }
        }
        let cipherKey = pattern(p.encryptionKeyBytes, 11)
        guard p.authenticationKeyBytes > 0 else { return cipherKey }
        // struct rtattr { u16 rta_len; u16 rta_type; } + struct crypto_authenc_key_param { __be32 enckeylen; }
        let rtaLength: UInt16 = 8, keyaParam: UInt16 = 1 // CRYPTO_AUTHENC_KEYA_PARAM
        return bytes(of: rtaLength) + bytes(of: keyaParam) + bytes(of: UInt32(p.encryptionKeyBytes).bigEndian)
            + pattern(p.authenticationKeyBytes, 101) + cipherKey
    }

    /// One control message: cmsghdr (level SOL_ALG) then `data`, padded to CMSG_SPACE.
    static func appendControl(_ buffer: inout [UInt8], type: Int32, data: [UInt8]) {
        var header = cmsghdr()
        header.cmsg_len = swcrypt_shim_CMSG_LEN(data.count)
        header.cmsg_level = SOL_ALG
        header.cmsg_type = type
        var chunk = [UInt8](repeating: 0, count: swcrypt_shim_CMSG_SPACE(data.count))
        let dataOffset = swcrypt_shim_CMSG_LEN(0)
        withUnsafeBytes(of: &header) { chunk.replaceSubrange(0..<$0.count, with: $0) }
        chunk.replaceSubrange(dataOffset..<(dataOffset + data.count), with: data)
        buffer += chunk
    }

    static func bytes<T>(of value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
