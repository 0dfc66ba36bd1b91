import CSwcryptShim
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// fscrypt v2 through the kernel's own ioctls (linux/fscrypt.h), for testing
/// inline-encryption passthrough: Debian 12 packages no fscrypt tool. Structures
/// are laid out byte by byte as the UAPI header defines them; their sizes are
/// fixed by the ABI (fscrypt_add_key_arg 80 + raw, fscrypt_policy_v2 24).
public enum Fscrypt {
    /// FSCRYPT_MODE_* (contents and filenames encryption modes).
    public enum Mode: UInt8, Sendable {
        case aes256XTS = 1
        case aes256CTS = 4
        case adiantum = 9
    }

    /// FSCRYPT_POLICY_FLAG_* (padding 32 = 0x03; IV_INO_LBLK_64 = 0x08; IV_INO_LBLK_32 = 0x10).
    public struct PolicyFlags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let pad32 = PolicyFlags(rawValue: 0x03)
        public static let ivInoLblk64 = PolicyFlags(rawValue: 0x08)
        public static let ivInoLblk32 = PolicyFlags(rawValue: 0x10)
    }

    static let keySpecTypeIdentifier: UInt32 = 2   // FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER
    static let keySpecSize = 40                    // type, reserved, 32-byte union

    /// FS_IOC_ADD_ENCRYPTION_KEY on any file of the filesystem (usually its mount
    /// point): hands a raw master key (16..64 bytes) to the kernel and returns
    /// its 16-byte identifier. The copy made for the ioctl is locked and wiped.
    public static func addKey(filesystem path: String, raw key: [UInt8]) throws(SwcryptError) -> [UInt8] {
        guard (16...64).contains(key.count) else {
            throw SwcryptError(.failure, device: path, "fscrypt master key must be 16 to 64 bytes, got \(key.count)")
        }
        var arg = [UInt8](repeating: 0, count: 80 + key.count)
        put32(&arg, 0, keySpecTypeIdentifier)
        put32(&arg, 40, UInt32(key.count))        // raw_size; key_id 0; reserved zero
        arg.replaceSubrange(80..<80 + key.count, with: key)
        defer {
            arg.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count); _ = munlock($0.baseAddress, $0.count) }
        }
        arg.withUnsafeBytes { _ = mlock($0.baseAddress, $0.count) }
        try ioctlOn(path, swcrypt_shim_FS_IOC_ADD_ENCRYPTION_KEY(), &arg, operation: "FS_IOC_ADD_ENCRYPTION_KEY")
        return Array(arg[8..<24])
    }

    /// FS_IOC_REMOVE_ENCRYPTION_KEY: the kernel evicts the key's files from the cache.
    public static func removeKey(filesystem path: String, identifier: [UInt8]) throws(SwcryptError) {
        var arg = [UInt8](repeating: 0, count: keySpecSize + 4 + 32)   // key_spec, removal_status_flags, reserved
        put32(&arg, 0, keySpecTypeIdentifier)
        arg.replaceSubrange(8..<24, with: identifier.prefix(16))
        try ioctlOn(path, swcrypt_shim_FS_IOC_REMOVE_ENCRYPTION_KEY(), &arg, operation: "FS_IOC_REMOVE_ENCRYPTION_KEY")
    }

    /// FS_IOC_SET_ENCRYPTION_POLICY with a v2 policy on an empty directory.
    public static func setPolicy(directory path: String, identifier: [UInt8], contents: Mode = .aes256XTS,
                                 filenames: Mode = .aes256CTS, flags: PolicyFlags = .pad32) throws(SwcryptError) {
        guard identifier.count == 16 else {
            throw SwcryptError(.failure, device: path, "fscrypt key identifier must be 16 bytes, got \(identifier.count)")
        }
        var policy = [UInt8](repeating: 0, count: 24)
        policy[0] = 2   // FSCRYPT_POLICY_V2
        policy[1] = contents.rawValue
        policy[2] = filenames.rawValue
        policy[3] = flags.rawValue
        policy.replaceSubrange(8..<24, with: identifier)
        try ioctlOn(path, swcrypt_shim_FS_IOC_SET_ENCRYPTION_POLICY(), &policy, operation: "FS_IOC_SET_ENCRYPTION_POLICY")
    }

    /// FS_IOC_GET_ENCRYPTION_POLICY_EX: the v2 policy's (contents, filenames, flags, identifier), nil if unencrypted.
    public static func policy(of path: String) throws(SwcryptError) -> (contents: UInt8, filenames: UInt8, flags: UInt8, identifier: [UInt8])? {
        var arg = [UInt8](repeating: 0, count: 8 + 24)   // u64 policy_size, then the policy union
        put32(&arg, 0, 24)
        do {
            try ioctlOn(path, swcrypt_shim_FS_IOC_GET_ENCRYPTION_POLICY_EX(), &arg, operation: "FS_IOC_GET_ENCRYPTION_POLICY_EX")
        } catch where error.errno == .noData {
            return nil
        }
        guard arg[8] == 2 else { return nil }
        return (arg[9], arg[10], arg[11], Array(arg[16..<32]))
    }

    private static func put32(_ a: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { a[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }

    private static func ioctlOn(_ path: String, _ request: UInt, _ arg: inout [UInt8], operation: String) throws(SwcryptError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SwcryptError(.wrongDevice, device: path, "cannot open", operation: operation, errno: Errno(rawValue: errno))
        }
        defer { close(fd) }
        let rc = arg.withUnsafeMutableBytes { ioctl(fd, request, $0.baseAddress!) }
        if rc != 0 {
            let e = Errno(rawValue: errno)
            throw SwcryptError(.failure, device: path, "\(operation) failed", operation: operation, errno: e)
        }
    }
}
