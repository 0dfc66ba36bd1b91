// The only file in swcrypt that talks to libnvme. Nothing from CNVMe leaves this module.
internal import CNVMe
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The three outcomes of an NVMe command stay three (as in nvme-cli's
/// `nvme_show_cmd_err`): success, the OS call failed (errno), or the device
/// answered with an NVMe status.
public enum NVMeCommandError: Error, Sendable, CustomStringConvertible {
    case os(operation: String, errno: Errno)
    case status(operation: String, status: Int32, text: String)

    public var description: String {
        switch self {
        case .os(let op, let errno):
            return "\(op) failed: \(errno.description) (errno \(errno.rawValue))"
        case .status(let op, let status, let text):
            return "\(op) failed: the device answered NVMe status 0x\(String(status, radix: 16)) (\(text))"
        }
    }
}

/// Secure Erase Settings of Format NVM.
public enum SecureErase: Int, Sendable, CaseIterable {
    case none = 0, userData = 1, crypto = 2
}

/// An open NVMe namespace (block device) or controller (character device).
/// Owns its file descriptor and closes it exactly once.
public final class NVMeDevice {
    public let path: String
    private let fd: Int32

    /// Opens read-only (enough for admin passthrough as root). `exclusive` adds
    /// O_EXCL, which on a block device fails with EBUSY while anything (a mount,
    /// a device-mapper table, md) holds it, and keeps others from claiming it.
    public init(path: String, exclusive: Bool = false) throws(NVMeCommandError) {
        self.path = path
        let flags = O_RDONLY | O_CLOEXEC | (exclusive ? O_EXCL : 0)
        let fd = open(path, flags)
        guard fd >= 0 else { throw .os(operation: "open \(path)", errno: Errno(rawValue: errno)) }
        self.fd = fd
    }

    deinit { close(fd) }

    private func check(_ rc: Int32, _ operation: String) throws(NVMeCommandError) {
        if rc < 0 { throw .os(operation: operation, errno: Errno(rawValue: errno)) }
        if rc > 0 {
            let text = String(cString: nvme_status_to_string(rc, false))
            throw .status(operation: operation, status: rc, text: text)
        }
    }

    /// The namespace ID of a namespace block device (NVME_IOCTL_ID).
    public func namespaceID() throws(NVMeCommandError) -> UInt32 {
        var nsid: UInt32 = 0
        try check(nvme_get_nsid(fd, &nsid), "get namespace ID of \(path)")
        return nsid
    }

    /// Raw Identify Namespace data (4096 bytes).
    public func identifyNamespace(nsid: UInt32) throws(NVMeCommandError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let rc = buffer.withUnsafeMutableBytes { raw in
            nvme_identify_cns_nsid(fd, NVME_IDENTIFY_CNS_NS, nsid, raw.baseAddress)
        }
        try check(rc, "identify namespace \(nsid) on \(path)")
        return buffer
    }

    /// Raw Identify Controller data (4096 bytes).
    public func identifyController() throws(NVMeCommandError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let rc = buffer.withUnsafeMutableBytes { raw in
            nvme_identify_cns_nsid(fd, NVME_IDENTIFY_CNS_CTRL, UInt32(NVME_NSID_NONE.rawValue), raw.baseAddress)
        }
        try check(rc, "identify controller via \(path)")
        return buffer
    }

    /// Format NVM with metadata always separate (MSET=0): the Linux driver cannot
    /// use extended LBAs. `pi` is the protection-information type (0 = none).
    public func format(nsid: UInt32, lbaf: Int, ses: SecureErase, pi: Int, piFirst: Bool,
                       timeoutMilliseconds: UInt32) throws(NVMeCommandError) {
        var result: UInt32 = 0
        let rc = withUnsafeMutablePointer(to: &result) { resultPointer in
            var args = nvme_format_nvm_args()
            args.args_size = Int32(MemoryLayout<nvme_format_nvm_args>.size)
            args.result = resultPointer
            args.fd = fd
            args.timeout = timeoutMilliseconds
            args.nsid = nsid
            args.mset = NVME_FORMAT_MSET_SEPARATE
            args.pi = nvme_cmd_format_pi(rawValue: UInt32(pi))
            args.pil = piFirst ? NVME_FORMAT_PIL_FIRST : NVME_FORMAT_PIL_LAST
            args.ses = nvme_cmd_format_ses(rawValue: UInt32(ses.rawValue))
            args.lbaf = UInt8(lbaf & 0x0f)
            args.lbafu = UInt8((lbaf >> 4) & 0x03)
            return nvme_format_nvm(&args)
        }
        try check(rc, "format NVM namespace \(nsid) to LBA format \(lbaf) on \(path)")
    }

    /// Ask the controller to rescan its namespaces (controller character device only).
    public func rescanNamespaces() throws(NVMeCommandError) {
        try check(nvme_ns_rescan(fd), "rescan namespaces via \(path)")
    }
}
