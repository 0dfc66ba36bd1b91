/// What the kernel reports for one mapping (DM_DEVICE_INFO).
public struct MappingInfo: Sendable, Equatable {
    public init(name: String, uuid: String, major: Int, minor: Int, openCount: Int, targetCount: Int,
                suspended: Bool, readOnly: Bool) {
        self.name = name; self.uuid = uuid; self.major = major; self.minor = minor
        self.openCount = openCount; self.targetCount = targetCount; self.suspended = suspended; self.readOnly = readOnly
    }

    public var name: String
    public var uuid: String
    public var major: Int
    public var minor: Int
    public var openCount: Int
    public var targetCount: Int
    public var suspended: Bool
    public var readOnly: Bool

    public var devicePath: String { "/dev/mapper/\(name)" }
    public var kernelName: String { "dm-\(minor)" }
}

