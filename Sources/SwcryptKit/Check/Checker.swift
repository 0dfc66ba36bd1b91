import SwcryptCore
import SwcryptDeviceMapper
import SwcryptSystem
import SwcryptLUKS

/// `swcrypt check`: gathers what CheckRules (SwcryptCore) judges — the kernel
/// release, module states, device-mapper versions, AF_ALG probes with a quick
/// benchmark, libcryptsetup's version and, for a device, sysfs and Identify
/// Namespace. Writes nothing. It may load dm_mod, dm_crypt and dm_integrity (as
/// cryptsetup does: target versions are only listed for loaded targets) and,
/// through the AF_ALG probes, the crypto modules of the ciphers it checks.
/// Roots are injectable for tests.
public struct Checker: Sendable {
    public var sysfs: Sysfs
    /// Prefix for /lib/modules ("" is the running system's).
    var modulesRoot: String
    public var release: String
    public var isRoot: Bool
    /// Seconds of AF_ALG encryption per usable AEAD; 0 skips the benchmark.
    var benchmarkSeconds: Double
    /// Identify Namespace for an NVMe namespace (tests inject fixture data).
    public var identify: @Sendable (NVMeNamespaceTarget) -> Result<IdentifyNamespace, SwcryptError>

    public init(sysfs: Sysfs = Sysfs(), modulesRoot: String = "", release: String? = nil,
                isRoot: Bool = Privileges.isRoot, benchmarkSeconds: Double = 0.15,
                identify: (@Sendable (NVMeNamespaceTarget) -> Result<IdentifyNamespace, SwcryptError>)? = nil) {
        self.sysfs = sysfs
        self.modulesRoot = modulesRoot
        self.release = release ?? KernelConfigFiles.runningRelease()
        self.isRoot = isRoot
        self.benchmarkSeconds = benchmarkSeconds
        if let identify {
            self.identify = identify
        } else {
            let inspector = NamespaceInspector(sysfs: sysfs)
            self.identify = { target in
                do throws(SwcryptError) { return .success(try inspector.identify(target)) } catch { return .failure(error) }
            }
        }
    }

    public var modulesDirectory: String { Modules.directory(release: release, root: modulesRoot) }

    /// Everything, then the findings. A `path` that is not a block device fails
    /// first, with BlockResolver's one line (exit 4), before anything is loaded.
    public func run(device path: String?) throws(SwcryptError) -> CheckReport {
        var target: BlockTarget?
        if let path { target = try BlockResolver(sysfs: sysfs).resolve(path) }
        return CheckReport(facts: gather(target))
    }

    func gather(_ target: BlockTarget?) -> CheckFacts {
        // First: the version comes from libcryptsetup's first crypto-backend start, and
        // its context set-up and tear-down reset libdevmapper's log hook, which
        // DeviceMapper installs afterwards.
        let cryptsetupVersion = LUKSLibrary.version
        var modules = moduleFacts()
        let dm = deviceMapperFacts(&modules)
        return CheckFacts(kernelRelease: release, isRoot: isRoot, modulesDirectory: modulesDirectory,
                              modules: modules, deviceMapper: dm, aeads: aeadFacts(),
                              cryptsetupVersion: cryptsetupVersion,
                              cryptsetupHasInlineTags: LUKSLibrary.hasInlineHWTags,
                              device: target.map(deviceFacts))
    }

    // MARK: kernel

    /// Module states before check loads anything.
    func moduleFacts() -> [ModuleFact] {
        ModuleFact.inspected.map {
            ModuleFact(name: $0.name, state: Modules(sysfsRoot: sysfs.root).state(of: $0.name, modulesDirectory: modulesDirectory))
        }
    }

    // MARK: device-mapper

    /// Driver and target versions; loads dm_mod, dm_crypt and dm_integrity first
    /// (marking in `modules` the ones check loaded).
    func deviceMapperFacts(_ modules: inout [ModuleFact]) -> DeviceMapperFacts {
        // Without device-mapper in /proc/misc and without a dm_mod that modprobe
        // could load, there is none: that needs no root to tell.
        let core = modules.first { $0.name == "dm_mod" }?.state ?? .unknown
        if sysfs.miscDeviceRegistered("device-mapper") == false && (core == .missing || core == .unknown) {
            let why = core == .missing ? "no dm_mod module" : "no module lists for modprobe"
            return DeviceMapperFacts(.unavailable("the kernel has none (not in /proc/misc, \(why))"))
        }
        guard isRoot else { return DeviceMapperFacts(.notRoot) }
        defer {
            for i in modules.indices where modules[i].name.hasPrefix("dm_") && ![.loaded, .builtIn].contains(modules[i].state) {
                let now = Modules(sysfsRoot: sysfs.root).state(of: modules[i].name, modulesDirectory: modulesDirectory)
                modules[i].loadedByCheck = now == .loaded
            }
        }
        let mark = Diagnostics.shared.count
        let dm: DeviceMapper
        do {
            dm = try DeviceMapper()
        } catch {
            return DeviceMapperFacts(.unavailable(error.description))
        }
        for name in ModuleFact.loadedForVersions { Modules(sysfsRoot: sysfs.root).loadIfAvailable(name) }
        do {
            let driver = try dm.driverVersion()
            let targets = try dm.targetVersions()
            return DeviceMapperFacts(.queried(driver: driver, targets: targets))
        } catch {
            // libdevmapper's own words say more than the errno it leaves
            // (a task it could not create reads as ENOMEM).
            let said = Diagnostics.shared.entries(since: mark)
                .filter { $0.source == "libdevmapper" && $0.level >= .error }.map(\.message)
            let cause = said.first ?? error.description
            if !Modules(sysfsRoot: sysfs.root).isLoaded("dm_mod") {
                return DeviceMapperFacts(.unavailable("the kernel has none (no /sys/module/dm_mod; libdevmapper: \(cause))"))
            }
            return DeviceMapperFacts(.unavailable("/dev/mapper/control does not answer (\(cause))"))
        }
    }

    // MARK: crypto

    /// Each AEAD swcrypt offers: probed through AF_ALG (which loads its module on
    /// demand), looked up in /proc/crypto, and benchmarked when usable.
    func aeadFacts() -> [AEADFact] {
        let listed = CryptoProbe.procCryptoNames(procRoot: sysfs.procRoot)
        return AuthenticatedCipher.common.map { c in
            let algorithm = KernelCipher(c.cipher, integrity: c.integrity).algorithm
            var fact = AEADFact(cipher: c, algorithm: algorithm,
                                availability: CryptoProbe.probe(type: "aead", name: algorithm),
                                listedInProcCrypto: listed.contains(algorithm))
            if fact.availability == .available && benchmarkSeconds > 0 {
                switch AEADBenchmark.run(Self.benchmarkParameters(c, algorithm: algorithm), seconds: benchmarkSeconds) {
                case .success(let mibs): fact.mibPerSecond = mibs
                case .failure(let failure): fact.benchmarkProblem = failure.description
                }
            }
            return fact
        }
    }

    /// What dm-crypt would set up for `c` with swcrypt's default key size: the key
    /// split as CipherChoice sizes it, the IV the random generator stores, the tag.
    static func benchmarkParameters(_ c: AuthenticatedCipher, algorithm: String) -> AEADBenchmark.Parameters {
        let total = (try? CipherChoice.keyBytes(c.cipher, c.integrity, bits: nil, device: "")) ?? 32
        let cipherOnly = (try? CipherChoice.keyBytes(c.cipher, nil, bits: nil, device: "")) ?? total
        return AEADBenchmark.Parameters(algorithm: algorithm, encryptionKeyBytes: cipherOnly,
                                        authenticationKeyBytes: total - cipherOnly,
                                        ivBytes: c.cipher.storedIVBytes, tagBytes: c.integrity.tagBytes)
    }

    // MARK: device

    /// sysfs facts, mounts and holders; for an NVMe namespace also Identify
    /// Namespace, made into id-ns's report (its per-format fits are reused).
    func deviceFacts(_ target: BlockTarget) -> CheckedDevice {
        let d = target.device
        var device = CheckedDevice(path: target.path, device: d, mounts: sysfs.mounts(of: d))
        if case .nvmeNamespace(let nsid) = d.kind {
            let ns = NVMeNamespaceTarget(path: target.path, device: d, nsid: nsid,
                                         controllers: sysfs.nvmeControllers(ofNamespace: d.name))
            if let controller = ns.controllers.first {
                device.controllerModel = sysfs.nvmeControllerAttribute(controller, "model")
                device.controllerFirmware = sysfs.nvmeControllerAttribute(controller, "firmware_rev")
            }
            switch identify(ns) {
            case .success(let id):
                device.namespace = NamespaceReport(device: target.path, nsid: nsid, identify: id, kernel: d)
            case .failure(let error):
                device.namespaceProblem = error.description
            }
        }
        return device
    }
}
