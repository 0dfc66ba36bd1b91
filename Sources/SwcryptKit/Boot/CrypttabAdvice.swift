import SwcryptCore
import SwcryptLUKS
import SwcryptSystem
#if canImport(Glibc)
import Glibc
#endif

/// `swcrypt crypttab NAME|DEV`: the line that opens a volume at boot, for
/// /etc/crypttab when the system's own systemd-cryptsetup can open it (its
/// libcryptsetup is 2.8 or later, or the volume keeps its tags in dm-integrity,
/// which older ones open), and for /etc/swcrypttab otherwise.
public struct CrypttabAdvice: Sendable, Equatable {
    public var file: String
    public var reason: String
    public var line: String
}

extension BootVolumes {
    /// The system's libcryptsetup (not the copy swcrypt runs with): the first
    /// libcryptsetup.so.12 in the library directories, and whether it defines the
    /// CRYPTSETUP_2.8 symbol version (inline HW tags).
    static func systemLibcryptsetup(roots: [String] = ["/usr/lib", "/lib", "/usr/lib64", "/lib64"]) -> (path: String, hasInlineTags: Bool)? {
        for root in roots {
            let dirs = [root] + Files.list(root).filter { $0.hasSuffix("-linux-gnu") }.map { "\(root)/\($0)" }
            for dir in dirs where access("\(dir)/libcryptsetup.so.12", R_OK) == 0 {
                let path = "\(dir)/libcryptsetup.so.12"
                return (path, fileContains(path, "CRYPTSETUP_2.8"))
            }
        }
        return nil
    }

    static func fileContains(_ path: String, _ needle: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let pattern = Array(needle.utf8)
        var carry = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            let chunk = carry + buffer[0..<n]
            if chunk.count >= pattern.count {
                for i in 0...(chunk.count - pattern.count) where chunk[i] == pattern[0] && Array(chunk[i..<(i + pattern.count)]) == pattern {
                    return true
                }
            }
            carry = Array(chunk.suffix(pattern.count - 1))
        }
    }

    public func crypttabLine(for nameOrDevice: String) throws(SwcryptError) -> CrypttabAdvice {
        let manager = VolumeManager()
        let info: LUKSInfo
        let name: String
        if !nameOrDevice.contains("/"), let active = try? manager.status(name: nameOrDevice) {
            info = active.0
            name = nameOrDevice
        } else {
            info = try manager.dump(path: nameOrDevice)
            name = "luks-\(info.uuid)"
        }
        let source = "UUID=\(info.uuid)"
        let helpers: [String] = ["/usr/lib/systemd/systemd-cryptsetup", "/lib/systemd/systemd-cryptsetup"]
        let systemd = helpers.contains { access($0, X_OK) == 0 }
        let library = Self.systemLibcryptsetup()
        let inline = info.layout == .inlineHardware
        let why: String?
        if !systemd {
            why = "this system has no systemd-cryptsetup (Debian: the systemd-cryptsetup package) to read /etc/crypttab"
        } else if let library {
            why = inline && !library.hasInlineTags
                ? "the volume keeps its tags inline (LUKS2 requirement inline-hw-tags), which the system's libcryptsetup (\(library.path)) opens only from 2.8 on"
                : nil
        } else {
            why = "the system has no libcryptsetup of its own"
        }
        if let why {
            return CrypttabAdvice(file: "/etc/swcrypttab", reason: why + "; swcrypt opens it at boot from /etc/swcrypttab",
                                  line: "\(name) \(source) none")
        }
        return CrypttabAdvice(file: "/etc/crypttab",
                              reason: inline ? "the system's libcryptsetup has inline HW tags (2.8 or later): systemd-cryptsetup opens it"
                                  : "the volume keeps its tags in dm-integrity, which the system's libcryptsetup opens: systemd-cryptsetup opens it",
                              line: "\(name) \(source) none luks")
    }
}
