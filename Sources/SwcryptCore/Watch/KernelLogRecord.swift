/// One record of /dev/kmsg: "priority,sequence,microseconds,flags[,...];message",
/// then continuation lines (" KEY=value") that are not part of the message.
/// See the kernel's Documentation/ABI/testing/dev-kmsg.
public struct KernelLogRecord: Sendable, Equatable {
    /// The syslog level (0 emergency ... 7 debug); the facility is dropped.
    public var level: Int
    /// The kernel's record number: increases by one per record since boot.
    public var sequence: UInt64
    /// When it was logged: microseconds on the kernel's monotonic clock.
    public var microseconds: UInt64
    public var message: String

    public init(level: Int, sequence: UInt64, microseconds: UInt64, message: String) {
        self.level = level
        self.sequence = sequence
        self.microseconds = microseconds
        self.message = message
    }

    public init?(record text: String) {
        guard let semi = text.firstIndex(of: ";") else { return nil }
        let prefix = text[..<semi].split(separator: ",", omittingEmptySubsequences: false)
        guard prefix.count >= 3, let priority = Int(prefix[0]), let sequence = UInt64(prefix[1]),
              let microseconds = UInt64(prefix[2]) else { return nil }
        level = priority & 7
        self.sequence = sequence
        self.microseconds = microseconds
        message = text[text.index(after: semi)...].split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
    }
}
