/// What the running kernel's device-mapper targets are and allow.

/// A target version as the kernel reports it (`dmsetup targets`).
public struct TargetVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var major: Int, minor: Int, patch: Int
    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major; self.minor = minor; self.patch = patch
    }
    public static func < (a: Self, b: Self) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }
    public var description: String { "\(major).\(minor).\(patch)" }
}

/// What the running kernel's device-mapper targets support, probed once.
public struct KernelTargets: Sendable, Equatable {
    public var versions: [String: TargetVersion]
    public init(_ versions: [String: TargetVersion]) { self.versions = versions }

    public subscript(_ name: String) -> TargetVersion? { versions[name] }

    public struct Capabilities: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// dm-integrity Inline mode (I): integrity >= 1.12 (Linux 6.11).
        static let integrityInline = Capabilities(rawValue: 1 << 0)
        /// dm-crypt directly on device metadata (crypt >= 1.27, Linux 6.11).
        public static let cryptOnMetadata = Capabilities(rawValue: 1 << 1)
        /// `integrity_key_size:` (crypt >= 1.28).
        static let integrityKeySize = Capabilities(rawValue: 1 << 2)
        /// `no_read_workqueue`/`no_write_workqueue` (crypt >= 1.22).
        static let noWorkqueue = Capabilities(rawValue: 1 << 3)
        /// `high_priority` (crypt >= 1.26).
        public static let highPriority = Capabilities(rawValue: 1 << 4)
    }

    /// What a capability needs: the one version table (validation and `swcrypt check` read it).
    public struct Requirement: Sendable {
        public var capability: Capabilities
        /// The device-mapper target ("crypt", "integrity").
        public var target: String
        var minimum: TargetVersion
        /// The Linux release that brought it, where it matters to the user.
        public var linux: String?
        /// Short name, as `swcrypt check` lists it.
        public var name: String
    }

    public static let requirements: [Requirement] = [
        Requirement(capability: .cryptOnMetadata, target: "crypt", minimum: TargetVersion(1, 27), linux: "6.11", name: "inline tags"),
        Requirement(capability: .integrityKeySize, target: "crypt", minimum: TargetVersion(1, 28), linux: nil, name: "integrity_key_size"),
        Requirement(capability: .noWorkqueue, target: "crypt", minimum: TargetVersion(1, 22), linux: nil, name: "no_read/write_workqueue"),
        Requirement(capability: .highPriority, target: "crypt", minimum: TargetVersion(1, 26), linux: nil, name: "high_priority"),
        Requirement(capability: .integrityInline, target: "integrity", minimum: TargetVersion(1, 12), linux: "6.11", name: "Inline mode"),
    ]

    /// Derived from target versions, like cryptsetup's `_dm_set_crypt_compat`.
    public var capabilities: Capabilities {
        var c = Capabilities()
        for r in Self.requirements {
            if let v = versions[r.target], v >= r.minimum { c.insert(r.capability) }
        }
        return c
    }
}

extension TargetVersion {
    /// The leading "major.minor[.patch]" of a version text: "6.12.95+deb12-amd64",
    /// "2.8.1", "4.48.0". nil without at least major and minor.
    public init?(parsing text: String) {
        let head = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let parts = head.split(separator: ".", omittingEmptySubsequences: false).prefix(3).map { Int($0) }
        guard parts.count >= 2, let major = parts[0], let minor = parts[1] else { return nil }
        self.init(major, minor, parts.count == 3 ? (parts[2] ?? 0) : 0)
    }
}

