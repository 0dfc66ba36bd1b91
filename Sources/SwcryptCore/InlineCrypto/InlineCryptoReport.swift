/// `swcrypt inline-crypto`: each device's capability, the passthrough combination, and fscrypt's options.
public struct InlineCryptoReport: Equatable, Sendable {
    public struct Device: Equatable, Sendable {
        public var path: String
        /// Where it was looked for (/sys/block/X/queue/crypto).
        public var sysfsPath: String
        public var capability: InlineCryptoCapability?

        public init(path: String, sysfsPath: String, capability: InlineCryptoCapability?) {
            self.path = path
            self.sysfsPath = sysfsPath
            self.capability = capability
        }
    }

    public var devices: [Device]
    public var fallback: BlkCryptoFallback
    public var dataUnitSize: Int?
    /// For more than one device: what a linear/flakey mapping over all of them exposes.
    public var passthrough: InlineCryptoCapability?
    /// The capability the evaluations are for: the single device's, or the passthrough one.
    public var effective: InlineCryptoCapability?
    public var evaluations: [FscryptPolicyEvaluation]

    public init(devices: [Device], fallback: BlkCryptoFallback, dataUnitSize: Int? = nil,
                filesystems: [FscryptFilesystem] = [.ext4(), .f2fs()]) {
        self.devices = devices
        self.fallback = fallback
        self.dataUnitSize = dataUnitSize
        let passthrough = devices.count > 1 ? InlineCryptoCapability.intersection(devices.map(\.capability)) : nil
        let effective = devices.count > 1 ? passthrough : devices.first?.capability
        self.passthrough = passthrough
        self.effective = effective
        evaluations = filesystems.flatMap {
            FscryptInlineCrypt.evaluate(effective, filesystem: $0, dataUnitSize: dataUnitSize)
        }
    }

    public var hasHardware: Bool { effective != nil }

    public static let noHardware = "no inline-encryption hardware (no queue/crypto)"
}
