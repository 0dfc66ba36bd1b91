import Foundation
import SwcryptCore
import SwcryptSystem
#if canImport(Glibc)
import Glibc
#endif

/// What the runner reads of the guest kernel: the NVMe namespaces, their write
/// counters, device sizes, the crypto drivers in use. sysfs under an injectable root.
struct GuestSystem {
    var sysfs: Sysfs
    var procRoot: String

    init(sysRoot: String = "/sys", procRoot: String = "/proc") {
        sysfs = Sysfs(root: sysRoot, procRoot: procRoot)
        self.procRoot = procRoot
    }

    /// The namespace heads (not the hidden multipath paths) by nsid: "nvme0n1" for 1.
    func namespaces() -> [UInt32: String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(sysfs.root)/class/block")) ?? []
        var found: [UInt32: String] = [:]
        for name in names.sorted() where isNVMeNamespaceName(name) {
            if case .nvmeNamespace(let nsid)? = sysfs.blockDevice(name: name)?.kind { found[nsid] = name }
        }
        return found
    }

    func metadataBytes(_ namespace: String) -> Int? { sysfs.blockDevice(name: namespace)?.metadataBytes }

    /// Sectors the namespace has written (`stat` field 7). With native multipath the
    /// requests are counted on the hidden paths (nvmeXcZnY), so those are summed.
    func sectorsWritten(_ namespace: String) -> Int {
        let paths = sysfs.multipathPaths(of: namespace)
        return (paths.isEmpty ? [namespace] : paths).reduce(0) { total, disk in
            let fields = readText("\(sysfs.root)/class/block/\(disk)/stat").split(whereSeparator: \.isWhitespace)
            return total + (fields.count > 6 ? Int(fields[6]) ?? 0 : 0)
        }
    }

    /// Size in bytes of the block device at a path ("/dev/mapper/bench-vol").
    func sizeBytes(_ devicePath: String) -> Int? {
        guard let name = sysfs.kernelName(ofPath: devicePath), let device = sysfs.blockDevice(name: name) else { return nil }
        return Int(exactly: device.sizeBytes)
    }

    /// "aegis128=aegis128-aesni gcm(aes)=generic-gcm-aesni ...": the drivers
    /// /proc/crypto lists for the two AEADs measured, sorted, once each.
    func cryptoDrivers() -> String {
        var name = "", pairs = Set<String>()
        for line in readText("\(procRoot)/crypto").split(separator: "\n") {
            let fields = line.split(whereSeparator: \.isWhitespace)
            let third = fields.count > 2 ? String(fields[2]) : ""
            if line.hasPrefix("name") { name = third }
            if line.hasPrefix("driver"), name == "aegis128" || name == "gcm(aes)" { pairs.insert("\(name)=\(third)") }
        }
        return pairs.sorted().joined(separator: " ")
    }

    func readText(_ path: String) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }

    /// `uname -r`.
    static func kernelRelease() -> String {
        var u = utsname()
        guard uname(&u) == 0 else { return "" }
        return withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// `nproc`: the CPUs this process may run on.
    static func cpuCount() -> Int { ProcessInfo.processInfo.activeProcessorCount }
}
