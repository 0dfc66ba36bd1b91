import SwcryptBlkid
import SwcryptCore
import SwcryptDeviceMapper
import SwcryptSystem
import SwcryptKeys
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Where a dm-crypt key comes from. Keys never come from argv or the environment.
public enum KeySource: Sendable, Equatable {
    /// A file holding exactly the key bytes; "-" reads standard input.
    case file(String)
    /// Fresh random bytes (throwaway CI mappings).
    case random
}

public struct CryptMapRequest: Sendable {
    public var name: String
    public var device: String
    public var cipher: String?
    public var integrity: String?
    public var keyBits: Int?
    public var sectorSize: Int?
    public var offset: UInt64 = 0
    public var sizeSectors: UInt64?
    public var keySource: KeySource
    public var emulateMetadata: IntegrityTarget.Mode?
    public var allowDiscards = false
    public var performance = PerformanceFlags()
    public var readOnly = false
    public var allowInsecure = false
    /// Check through AF_ALG that the kernel has the cipher before anything is created.
    public var probeCipher = true

    public init(name: String, device: String, keySource: KeySource) {
        self.name = name
        self.device = device
        self.keySource = keySource
    }
}

public struct IntegrityMapRequest: Sendable {
    public var name: String
    public var device: String
    /// The target as asked for: its device is filled in from `device`; a tag size
    /// of 0 means the internal hash's; no block size means the device's default.
    public var target: IntegrityTarget
    public var readOnly = false

    public init(name: String, device: String, target: IntegrityTarget) {
        self.name = name
        self.device = device
        self.target = target
    }
}

/// A mapping swcrypt made, as `ls` shows it.
public struct StackSummary: Sendable, Equatable {
    public var name: String
    public var stack: String
    public var layers: [MappingInfo]
    public var devicePath: String { "/dev/mapper/\(name)" }
}
