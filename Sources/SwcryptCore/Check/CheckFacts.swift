/// What `swcrypt check` looks at, as gathered (Checker in SwcryptKit); pure values.

/// Whether the kernel crypto API can instantiate an algorithm (an AF_ALG bind).
public enum CryptoAvailability: Equatable, Sendable {
    case available
    /// The kernel has no such algorithm (ENOENT).
    case missing
    /// AF_ALG (CONFIG_CRYPTO_USER_API_AEAD/SKCIPHER) is not there: cannot tell.
    case unknown(String)
}

/// A kernel module swcrypt needs, as found before check loaded anything.
public struct ModuleFact: Equatable, Sendable {
    public enum State: String, Codable, Sendable {
        /// /sys/module/NAME with an initstate.
        case loaded
        /// In modules.builtin, or /sys/module/NAME without an initstate.
        case builtIn = "built-in"
        /// Listed in modules.dep: modprobe can load it.
        case loadable
        /// Not loaded, not built in, not in modules.dep.
        case missing
        /// Not loaded, and there are no module lists to tell built-in from missing.
        case unknown
    }

    public var name: String
    public var state: State
    /// Not loaded before, loaded by check (dm_crypt, dm_integrity: target versions are
    /// only listed once the module is loaded).
    public var loadedByCheck: Bool

    public init(name: String, state: State, loadedByCheck: Bool = false) {
        self.name = name
        self.state = state
        self.loadedByCheck = loadedByCheck
    }

    /// The modules `check` inspects and the kernel options that build them.
    public static let inspected: [(name: String, config: String)] = [
        ("dm_mod", "CONFIG_BLK_DEV_DM"),
        ("dm_crypt", "CONFIG_DM_CRYPT"),
        ("dm_integrity", "CONFIG_DM_INTEGRITY"),
        ("aegis128", "CONFIG_CRYPTO_AEGIS128"),
        ("gcm", "CONFIG_CRYPTO_GCM"),
        ("chacha20poly1305", "CONFIG_CRYPTO_CHACHA20POLY1305"),
        ("authenc", "CONFIG_CRYPTO_AUTHENC"),
    ]

    /// Modules check loads itself (as cryptsetup does) to read target versions.
    public static let loadedForVersions = ["dm_crypt", "dm_integrity"]
}

public struct DeviceMapperFacts: Equatable, Sendable {
    public enum Access: Equatable, Sendable {
        case queried(driver: String, targets: KernelTargets)
        /// The version ioctls need root.
        case notRoot
        /// No device-mapper, or it did not answer.
        case unavailable(String)
    }

    public var access: Access
    public init(_ access: Access) { self.access = access }

    public var targets: KernelTargets? {
        if case .queried(_, let t) = access { return t }
        return nil
    }
}

/// One AEAD swcrypt offers, as the crypto API sees it.
public struct AEADFact: Equatable, Sendable {
    public var cipher: AuthenticatedCipher
    /// The crypto API name dm-crypt allocates (`KernelCipher.algorithm`).
    public var algorithm: String
    public var availability: CryptoAvailability
    /// Listed in /proc/crypto (instantiated already): evidence when AF_ALG is missing.
    public var listedInProcCrypto: Bool
    /// MiB/s encrypting 4 KiB sectors through AF_ALG.
    public var mibPerSecond: Double?
    public var benchmarkProblem: String?

    public init(cipher: AuthenticatedCipher, algorithm: String, availability: CryptoAvailability,
                listedInProcCrypto: Bool = false, mibPerSecond: Double? = nil, benchmarkProblem: String? = nil) {
        self.cipher = cipher
        self.algorithm = algorithm
        self.availability = availability
        self.listedInProcCrypto = listedInProcCrypto
        self.mibPerSecond = mibPerSecond
        self.benchmarkProblem = benchmarkProblem
    }
}

/// The device named on the command line: the block device, its mounts, and for an
/// NVMe namespace what Identify Namespace said (id-ns's report, or why there is none).
@dynamicMemberLookup
public struct CheckedDevice: Equatable, Sendable {
    public var path: String
    public var device: BlockDevice
    public var mounts: [String]
    /// For an NVMe namespace whose Identify Namespace worked.
    public var namespace: NamespaceReport?
    /// Why there is no namespace report for an NVMe namespace.
    public var namespaceProblem: String?
    /// An NVMe namespace's controller model and firmware, as sysfs shows them ("QEMU NVMe Ctrl", "10.0.2").
    public var controllerModel: String?
    public var controllerFirmware: String?

    public init(path: String, device: BlockDevice, mounts: [String] = [], namespace: NamespaceReport? = nil,
                namespaceProblem: String? = nil, controllerModel: String? = nil, controllerFirmware: String? = nil) {
        self.path = path
        self.device = device
        self.mounts = mounts
        self.namespace = namespace
        self.namespaceProblem = namespaceProblem
        self.controllerModel = controllerModel
        self.controllerFirmware = controllerFirmware
    }

    public subscript<T>(dynamicMember field: KeyPath<BlockDevice, T>) -> T { device[keyPath: field] }
}

public struct CheckFacts: Equatable, Sendable {
    /// `uname -r`.
    public var kernelRelease: String
    public var isRoot: Bool
    /// Where the module lists are read ("/lib/modules/<release>"), for messages.
    public var modulesDirectory: String
    public var modules: [ModuleFact]
    public var deviceMapper: DeviceMapperFacts
    public var aeads: [AEADFact]
    /// The loaded libcryptsetup's version ("2.8.8"), nil when it did not say.
    public var cryptsetupVersion: String?
    /// The loaded libcryptsetup has `crypt_format_inline` (LUKS2 inline HW tags, 2.8).
    public var cryptsetupHasInlineTags: Bool
    public var device: CheckedDevice?

    public init(kernelRelease: String, isRoot: Bool, modulesDirectory: String, modules: [ModuleFact],
                deviceMapper: DeviceMapperFacts, aeads: [AEADFact], cryptsetupVersion: String?,
                cryptsetupHasInlineTags: Bool, device: CheckedDevice? = nil) {
        self.kernelRelease = kernelRelease
        self.isRoot = isRoot
        self.modulesDirectory = modulesDirectory
        self.modules = modules
        self.deviceMapper = deviceMapper
        self.aeads = aeads
        self.cryptsetupVersion = cryptsetupVersion
        self.cryptsetupHasInlineTags = cryptsetupHasInlineTags
        self.device = device
    }

    /// Whether the kernel has aegis128 (what the default cipher depends on).
    var aegis128Available: Bool {
        aeads.contains { $0.algorithm == "aegis128" && $0.availability == .available }
    }

    /// "libcryptsetup 2.8.8", or without a version when the library did not say.
    public var cryptsetupName: String {
        "libcryptsetup " + (cryptsetupVersion ?? "(version not reported)")
    }
}

