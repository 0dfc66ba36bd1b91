import SwcryptCore
#if canImport(Glibc)
import Glibc
#endif

extension Sysfs {
    /// Where the disk's inline-encryption profile would be. Partitions share
    /// their disk's request queue, so a partition reads its disk's.
    public func queueCryptoPath(of device: BlockDevice) -> String {
        var disk = device.name
        if case .partition(let whole, _) = device.kind { disk = whole }
        return "\(root)/class/block/\(disk)/queue/crypto"
    }

    /// The disk's inline-encryption capability, nil when the kernel shows none
    /// (no queue/crypto directory: no hardware, or CONFIG_BLK_INLINE_ENCRYPTION off).
    /// Semantics of each file: see SwcryptCore/InlineCrypto.swift.
    public func inlineCrypto(of device: BlockDevice) -> InlineCryptoCapability? {
        inlineCrypto(at: queueCryptoPath(of: device))
    }

    /// What replacing the table of the live mapping `live` by a linear/flakey
    /// table over `devices` would take away (the kernel would refuse the load).
    public func passthroughReloadLosses(live: BlockDevice, devices: [BlockDevice]) -> [String] {
        InlineCryptoCapability.reloadLosses(live: inlineCrypto(of: live),
                                            new: InlineCryptoCapability.intersection(devices.map { inlineCrypto(of: $0) }))
    }

    public func inlineCrypto(at dir: String) -> InlineCryptoCapability? {
        guard Files.exists(dir) else { return nil }
        let modes = Files.list("\(dir)/modes").compactMap { name -> InlineCryptoMode? in
            guard let text = Files.readText("\(dir)/modes/\(name)") else { return nil }
            let hex = text.trimmingCharacters(in: " \t")
            let digits = hex.hasPrefix("0x") || hex.hasPrefix("0X") ? String(hex.dropFirst(2)) : hex
            guard let mask = UInt64(digits, radix: 16) else { return nil }
            return InlineCryptoMode(name: name, dataUnitMask: mask)
        }
        // hw_wrapped_keys / raw_keys appeared together (6.15); before that neither is shown.
        let keyTypesShown = Files.exists("\(dir)/hw_wrapped_keys") || Files.exists("\(dir)/raw_keys")
        return InlineCryptoCapability(
            modes: modes,
            maxDUNBits: Files.readInt("\(dir)/max_dun_bits") ?? 0,
            keyslots: Files.readInt("\(dir)/num_keyslots") ?? 0,
            hardwareWrappedKeys: keyTypesShown ? Files.exists("\(dir)/hw_wrapped_keys") : nil,
            rawKeys: keyTypesShown ? Files.exists("\(dir)/raw_keys") : nil)
    }
}

/// Reads the running kernel's build configuration to tell whether
/// blk-crypto-fallback is built in. Nothing in sysfs says so: its module
/// parameters have permission 0, so there is no /sys/module/blk_crypto_fallback.
/// Tried in order: /boot/config-<release> (Debian, Fedora, Ubuntu install it),
/// /lib/modules/<release>/config, /lib/modules/<release>/build/.config; then
/// the running kernel's own witnesses (see BlkCryptoFallback.fromRunningKernel).
/// /proc/config.gz is compressed and swcrypt does not link zlib.
public struct KernelConfigFiles: Sendable {
    public var root: String
    public var procRoot: String
    public var release: String

    var sysRoot: String

    public init(root: String = "", procRoot: String = "/proc", sysRoot: String = "/sys", release: String? = nil) {
        self.root = root
        self.procRoot = procRoot
        self.sysRoot = sysRoot
        self.release = release ?? KernelConfigFiles.runningRelease()
    }

    public static func runningRelease() -> String {
        var u = utsname()
        guard uname(&u) == 0 else { return "" }
        return withUnsafePointer(to: u.release) {
            $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
        }
    }

    public var candidates: [String] {
        ["\(root)/boot/config-\(release)", "\(root)/lib/modules/\(release)/config",
         "\(root)/lib/modules/\(release)/build/.config"]
    }

    public func blkCryptoFallback() -> BlkCryptoFallback {
        for path in candidates {
            if let text = Files.readText(path) { return BlkCryptoFallback.parse(config: text, source: path) }
        }
        let kallsymsPath = "\(procRoot)/kallsyms"
        if let running = BlkCryptoFallback.fromRunningKernel(
            blkCryptoParameter: Files.exists("\(sysRoot)/module/blk_crypto/parameters/num_prealloc_crypt_ctxs"),
            kallsyms: Files.readText(kallsymsPath), kallsymsPath: kallsymsPath) {
            return running
        }
        return BlkCryptoFallback(enabled: nil, blockLayerSupport: nil,
                                 source: "no kernel config found and \(kallsymsPath) unreadable: tried \(candidates.joined(separator: ", "))")
    }
}
