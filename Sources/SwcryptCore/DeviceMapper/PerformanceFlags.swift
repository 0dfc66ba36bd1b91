/// dm-crypt's performance flags (cryptsetup's `--perf-*` options), for `map crypt`
/// tables and for `open` (libcryptsetup's activation flags).
public struct PerformanceFlags: Equatable, Sendable {
    public var sameCPUCrypt = false
    public var submitFromCryptCPUs = false
    public var noReadWorkqueue = false
    public var noWriteWorkqueue = false
    public var highPriority = false

    public init(sameCPUCrypt: Bool = false, submitFromCryptCPUs: Bool = false, noReadWorkqueue: Bool = false,
                noWriteWorkqueue: Bool = false, highPriority: Bool = false) {
        self.sameCPUCrypt = sameCPUCrypt
        self.submitFromCryptCPUs = submitFromCryptCPUs
        self.noReadWorkqueue = noReadWorkqueue
        self.noWriteWorkqueue = noWriteWorkqueue
        self.highPriority = highPriority
    }
}
