/// `swcrypt check`: "will this work here, and if not, why" — before anything is
/// written. SwcryptKit's Checker gathers the facts (uname, /sys/module, modules lists,
/// device-mapper versions, AF_ALG probes and a benchmark, libcryptsetup's version,
/// sysfs and Identify Namespace for a device); CheckRules turn them into findings,
/// each ok / warning / blocking with one line of advice. Pure, so every rule is
/// unit-tested with fixture facts.
///
/// What "blocking" means: something swcrypt's main job needs cannot work here as
/// things stand (no device-mapper, no crypt target, no tags in device metadata on
/// this kernel, a device whose metadata is taken by protection information, a
/// device in use). "warning": it works, but with a limitation, or check could not
/// tell. `swcrypt check` exits 1 when any finding is blocking.

public enum CheckStatus: String, Codable, Sendable, CaseIterable {
    case ok, warning, blocking
}

public enum CheckArea: String, Codable, Sendable, CaseIterable {
    case kernel
    case deviceMapper = "device-mapper"
    case crypto
    case libcryptsetup
    case device
}

/// One answer: what was looked at (`item`, a stable key), how it stands, the
/// sentence saying so (`detail`, printed as is) and what to do (`advice`).
public struct Finding: Equatable, Sendable {
    public var area: CheckArea
    public var item: String
    public var status: CheckStatus
    public var detail: String
    public var advice: String?

    public init(_ area: CheckArea, _ item: String, _ status: CheckStatus, _ detail: String, advice: String? = nil) {
        self.area = area
        self.item = item
        self.status = status
        self.detail = detail
        self.advice = advice
    }

}

public struct CheckReport: Equatable, Sendable {
    public var facts: CheckFacts
    public var findings: [Finding]

    public init(facts: CheckFacts) {
        self.facts = facts
        self.findings = CheckRules.findings(facts)
    }

    public func count(_ status: CheckStatus) -> Int { findings.filter { $0.status == status }.count }

    public var hasBlocking: Bool { findings.contains { $0.status == .blocking } }

    /// 0 when nothing is blocking, 1 otherwise.
    public var exitStatus: ExitStatus { hasBlocking ? .failure : .success }

    public func findings(in area: CheckArea) -> [Finding] { findings.filter { $0.area == area } }
}
