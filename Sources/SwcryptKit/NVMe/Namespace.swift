import SwcryptCore
import SwcryptSystem
import SwcryptNVMe

/// A path resolved to an NVMe namespace block device.
public struct NVMeNamespaceTarget: Sendable {
    /// As the user named it.
    public var path: String
    public var device: BlockDevice
    public var nsid: UInt32
    /// Controller character devices ("nvme0").
    public var controllers: [String]
}

/// Resolves and inspects NVMe namespaces. Roots are injectable for tests.
public struct NamespaceInspector: Sendable {
    public var sysfs: Sysfs
    public var devRoot: String

    public init(sysfs: Sysfs = Sysfs(), devRoot: String = "/dev") {
        self.sysfs = sysfs
        self.devRoot = devRoot
    }

    /// Resolves `path` to an NVMe namespace, or throws one line saying what it is instead.
    public func resolve(_ path: String) throws(SwcryptError) -> NVMeNamespaceTarget {
        func notNamespace(_ what: String) -> SwcryptError {
            SwcryptError(.wrongDevice, device: path, "not an NVMe namespace: it is \(what)")
        }
        let device = try BlockResolver(sysfs: sysfs, devRoot: devRoot).resolve(path, refuse: notNamespace).device
        guard case .nvmeNamespace(let nsid) = device.kind else {
            if case .partition(let disk, _) = device.kind, isNVMeNamespaceName(disk) {
                throw notNamespace("\(device.kindDescription), not the whole namespace; use \(devRoot)/\(disk)")
            }
            throw notNamespace(device.kindDescription + " (\(device.name))")
        }
        return NVMeNamespaceTarget(path: path, device: device, nsid: nsid,
                                   controllers: sysfs.nvmeControllers(ofNamespace: device.name))
    }

    /// Identify Namespace through libnvme, checked against the nsid sysfs shows.
    public func identify(_ target: NVMeNamespaceTarget) throws(SwcryptError) -> IdentifyNamespace {
        let bytes = try nvme(target.path) { () throws(NVMeCommandError) in
            let dev = try NVMeDevice(path: target.path)
            return try dev.identifyNamespace(nsid: dev.namespaceID())
        }
        return try IdentifyNamespace(bytes: bytes)
    }

    /// `swcrypt id-ns`.
    public func report(_ path: String) throws(SwcryptError) -> NamespaceReport {
        let target = try resolve(path)
        let identify = try identify(target)
        return NamespaceReport(device: path, nsid: target.nsid, identify: identify,
                               kernel: target.device)
    }
}

/// Runs an NVMe-layer call, mapping its error to swcrypt's, with what the
/// kernel logged during the call ("nvme nvme0: ... timeout, reset controller",
/// or the command and status when passthru_err_log_enabled is set).
func nvme<T>(_ device: String, _ body: () throws(NVMeCommandError) -> T) throws(SwcryptError) -> T {
    let kmsg = KernelLogWindow()
    do {
        return try body()
    } catch {
        var e = SwcryptError(nvme: error, device: device)
        if let k = KernelLogWindow.reason(KernelLogWindow.relevant(kmsg?.drain() ?? [])) {
            e.cause = (e.cause.map { $0 + "; " } ?? "") + "kernel: \(k)"
        }
        throw e
    }
}
