import SystemPackage

/// Exit codes, following cryptsetup's documented table (cryptsetup(8), "RETURN CODES").
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case success = 0
    /// Wrong parameters or any other error (including a refusal the user asked for).
    case failure = 1
    /// No permission (not root), or bad passphrase.
    case permission = 2
    /// Out of memory.
    case memory = 3
    /// Wrong device specified: missing, not the kind of device needed, or unusable format.
    case wrongDevice = 4
    /// Device already exists or is busy (mounted, held by another mapping).
    case busy = 5
    /// swcrypt's own, beyond cryptsetup's table: `scrub` read the whole volume and
    /// found blocks that fail to read (not an error of swcrypt's: a finding).
    case damaged = 6

    /// The one mapping from a failed system call's errno to an exit code.
    public init(errno: Errno) {
        switch errno {
        case .permissionDenied, .notPermitted: self = .permission
        case .resourceBusy, .fileExists: self = .busy
        case .noSuchFileOrDirectory, .noSuchAddressOrDevice, .operationNotSupportedByDevice, .inappropriateIOCTLForDevice:
            self = .wrongDevice
        case .noMemory: self = .memory
        default: self = .failure
        }
    }

    var meaning: String {
        switch self {
        case .success: return "success"
        case .failure: return "wrong parameters or other error"
        case .permission: return "no permission or bad passphrase"
        case .memory: return "out of memory"
        case .wrongDevice: return "wrong device (missing, wrong type, or unusable format)"
        case .busy: return "device exists already or is busy"
        case .damaged: return "scrub found damaged blocks"
        }
    }
}

/// One error type for everything swcrypt reports: what was being done, to which
/// device, why (in a sentence with the numbers), and the underlying cause.
public struct SwcryptError: Error, CustomStringConvertible, Sendable {
    public var code: ExitStatus
    /// The device or mapping the error is about, as the user named it.
    public var device: String?
    /// One sentence naming the cause.
    public var message: String
    /// The operation ("identify namespace", "format NVM", "open").
    public var operation: String?
    /// The lower-level cause in words: the errno's, a library's or the kernel's message, an NVMe status.
    public var cause: String?
    /// The failed system call's errno, when there was one (match on this, never on text).
    public var errno: Errno?

    public init(_ code: ExitStatus, device: String? = nil, _ message: String,
                operation: String? = nil, cause: String? = nil, errno: Errno? = nil) {
        self.code = code
        self.device = device
        self.message = message
        self.operation = operation
        self.cause = cause
        self.errno = errno
    }

    /// A failed call: "OPERATION failed", the exit code from the errno, and the cause
    /// "<errno text>, errno N" followed by what the library or kernel said (`details`).
    public init(operation: String, device: String?, errno: Errno, details: [String] = []) {
        self.init(ExitStatus(errno: errno), device: device, "\(operation) failed", operation: operation,
                  cause: (["\(errno.description), errno \(errno.rawValue)"] + details).joined(separator: "; "), errno: errno)
    }

    /// The single line printed to stderr.
    public var description: String {
        var line = ""
        if let device { line += "\(device): " }
        line += message
        if let cause = cause ?? errno?.description { line += " (\(cause))" }
        return line
    }
}
