import SwcryptCore
import SwcryptDeviceMapper
import SwcryptSystem
import SwcryptLUKS
import SwcryptNVMe

// The wrappers' own errors (what libdevmapper, libcryptsetup and libnvme said)
// become SwcryptError here, all through SwcryptError(operation:device:errno:details:),
// so the exit code comes from ExitStatus(errno:) alone.

extension SwcryptError {
    /// device-mapper failures: code from errno, the kernel's line in the message.
    init(dm e: DeviceMapperError) {
        let detail = KernelLogWindow.reason(e.kernelMessages).map { "kernel: \($0)" }
            ?? e.libraryMessages.last.map { "libdevmapper: \($0)" }
        guard let errno = e.errno else {
            self.init(.failure, device: e.name, "\(e.operation) failed", operation: e.operation, cause: detail)
            return
        }
        self.init(operation: e.operation, device: e.name, errno: errno, details: detail.map { [$0] } ?? [])
    }
}

/// Runs a libcryptsetup-layer call, mapping its error.
func luks<T>(_ body: () throws(LUKSError) -> T) throws(SwcryptError) -> T {
    do { return try body() } catch { throw SwcryptError(luks: error) }
}

extension SwcryptError {
    init(luks e: LUKSError) {
        self.init(operation: e.operation, device: e.device, errno: e.errno,
                  details: e.messages.suffix(1) + (e.kernelReason.map { ["kernel: \($0)"] } ?? []))
    }
}

extension SwcryptError {
    /// Maps the NVMe layer's three outcomes to swcrypt's codes.
    init(nvme error: NVMeCommandError, device: String) {
        switch error {
        case .os(let operation, let errno):
            self.init(operation: operation, device: device, errno: errno)
        case .status(let operation, let status, let text):
            self.init(.failure, device: device, "\(operation): the device refused", operation: operation,
                      cause: "NVMe status 0x\(String(status, radix: 16)): \(text)")
        }
    }
}
