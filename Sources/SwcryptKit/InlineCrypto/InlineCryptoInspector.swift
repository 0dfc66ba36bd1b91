import SwcryptCore
import SwcryptSystem

/// `swcrypt inline-crypto`: resolves block devices, reads their inline-encryption
/// profiles and the kernel's fallback setting, and builds the report. Roots are
/// injectable (tests use fixture trees).
public struct InlineCryptoInspector: Sendable {
    public var sysfs: Sysfs
    public var config: KernelConfigFiles

    public init(sysfs: Sysfs = Sysfs(), config: KernelConfigFiles = KernelConfigFiles()) {
        self.sysfs = sysfs
        self.config = config
    }

    public func report(_ paths: [String], dataUnitSize: Int? = nil) throws(SwcryptError) -> InlineCryptoReport {
        if let du = dataUnitSize, du < 512 || du & (du - 1) != 0 {
            throw SwcryptError(.failure, "data unit size \(du) is not a power of two of at least 512")
        }
        var resolved = [(path: String, device: BlockDevice)]()
        for path in paths { resolved.append((path, try resolve(path))) }
        return report(resolved: resolved, dataUnitSize: dataUnitSize)
    }

    /// For devices already resolved (tests pass fixture sysfs devices).
    public func report(resolved: [(path: String, device: BlockDevice)], dataUnitSize: Int? = nil) -> InlineCryptoReport {
        let devices = resolved.map {
            InlineCryptoReport.Device(path: $0.path, sysfsPath: sysfs.queueCryptoPath(of: $0.device),
                                      capability: sysfs.inlineCrypto(of: $0.device))
        }
        return InlineCryptoReport(devices: devices, fallback: config.blkCryptoFallback(), dataUnitSize: dataUnitSize)
    }

    func resolve(_ path: String) throws(SwcryptError) -> BlockDevice {
        try BlockResolver(sysfs: sysfs).resolve(path).device
    }
}
