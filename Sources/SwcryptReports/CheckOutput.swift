import SwcryptCore

/// `swcrypt check`: one line per finding.
extension Finding {
    /// `  ok        crypt target 1.28.0: inline tags, ...`; the advice follows after "; ".
    public var line: String {
        let label = status.rawValue + String(repeating: " ", count: max(1, 10 - status.rawValue.count))
        return "  " + label + detail + (advice.map { "; " + $0 } ?? "")
    }
}

/// `swcrypt check`: human lines.
extension CheckReport {
    /// Grouped by area, one line per finding, then a summary line.
    public var lines: [String] {
        var lines = [String]()
        for area in CheckArea.allCases {
            let group = findings(in: area)
            guard !group.isEmpty else { continue }
            lines.append(area == .device ? "device \(facts.device?.path ?? "")" : area.rawValue)
            lines += group.map(\.line)
        }
        lines.append("")
        let verdict = hasBlocking ? "blocked: see the blocking lines" : "nothing blocking"
        lines.append("summary: \(count(.ok)) ok, \(count(.warning)) warning, \(count(.blocking)) blocking; \(verdict)")
        return lines
    }
}

/// The `--json` shape of check (snake_case, stable): findings, summary counts and
/// the facts they were derived from.
public struct CheckReportJSON: Encodable, Equatable, Sendable {
    public struct Summary: Encodable, Equatable, Sendable {
        public var ok: Int
        public var warning: Int
        public var blocking: Int
    }

    public struct Module: Encodable, Equatable, Sendable {
        public var name: String
        public var state: ModuleFact.State
        public var loadedByCheck: Bool
    }

    public struct DeviceMapper: Encodable, Equatable, Sendable {
        /// "queried", "not-root", "unavailable".
        public var status: String
        @ExplicitNull public var problem: String?
        @ExplicitNull public var driverVersion: String?
        /// Target name to version ("crypt": "1.28.0").
        public var targets: [String: String]
        public var capabilities: [String]
    }

    public struct AEAD: Encodable, Equatable, Sendable {
        public var cipher: String
        public var algorithm: String
        /// "usable", "missing", "unknown".
        public var status: String
        public var metadataBytes: Int
        @ExplicitNull public var mibPerS: Double?
        @ExplicitNull public var problem: String?
    }

    public struct Library: Encodable, Equatable, Sendable {
        @ExplicitNull public var version: String?
        public var inlineHWTags: Bool
    }

    public struct Device: Encodable, Equatable, Sendable {
        public var path: String
        public var name: String
        /// "nvme-namespace", "partition", "loop", "dm" or "other".
        public var kind: String
        public var description: String
        public var logicalBlockSize: Int
        public var physicalBlockSize: Int
        public var sizeBytes: UInt64
        @ExplicitNull public var metadataBytes: Int?
        public var integrityFormat: String
        public var tagSize: Int
        public var freeMetadataBytes: Int
        public var protectionInformation: Bool
        /// The ciphers whose tag fits the free metadata.
        public var fits: [NamespaceReportJSON.Cipher]
        public var holders: [String]
        public var mounts: [String]
        /// NVMe namespaces: id-ns's per-geometry fits (nil when not a namespace or identify failed).
        @ExplicitNull public var lbaFormats: [NamespaceReportJSON.Fit]?
        @ExplicitNull public var namespaceProblem: String?

    }

    public struct Facts: Encodable, Equatable, Sendable {
        public var kernelRelease: String
        public var root: Bool
        public var modules: [Module]
        public var deviceMapper: DeviceMapper
        public var aeads: [AEAD]
        public var libcryptsetup: Library
        @ExplicitNull public var device: Device?
    }

    /// One finding (`advice` null when there is none).
    public struct Finding: Encodable, Equatable, Sendable {
        public var area: CheckArea
        public var item: String
        public var status: CheckStatus
        public var detail: String
        @ExplicitNull public var advice: String?
    }

    public var findings: [Finding]
    public var summary: Summary
    public var facts: Facts

    public init(_ r: CheckReport) {
        findings = r.findings.map { Finding(area: $0.area, item: $0.item, status: $0.status, detail: $0.detail, advice: $0.advice) }
        summary = Summary(ok: r.count(.ok), warning: r.count(.warning), blocking: r.count(.blocking))
        let f = r.facts
        let dm: DeviceMapper
        switch f.deviceMapper.access {
        case .queried(let driver, let targets):
            let caps = targets.capabilities
            dm = DeviceMapper(status: "queried", problem: nil, driverVersion: driver,
                              targets: targets.versions.mapValues(\.description),
                              capabilities: KernelTargets.requirements.filter { caps.contains($0.capability) }.map(\.name))
        case .notRoot:
            dm = DeviceMapper(status: "not-root", problem: "not root: device-mapper versions unknown", driverVersion: nil,
                              targets: [:], capabilities: [])
        case .unavailable(let why):
            dm = DeviceMapper(status: "unavailable", problem: why, driverVersion: nil, targets: [:], capabilities: [])
        }
        let aeads = f.aeads.map { a -> AEAD in
            let status: String
            var problem = a.benchmarkProblem
            switch a.availability {
            case .available: status = "usable"
            case .missing: status = "missing"
            case .unknown(let why): status = "unknown"; problem = why
            }
            return AEAD(cipher: a.cipher.name, algorithm: a.algorithm, status: status, metadataBytes: a.cipher.metadataBytes,
                        mibPerS: a.mibPerSecond.map { ($0 * 10).rounded() / 10 }, problem: problem)
        }
        let device = f.device.map { d -> Device in
            let facts = d.device
            let kind: String
            switch d.kind {
            case .nvmeNamespace: kind = "nvme-namespace"
            case .partition: kind = "partition"
            case .loop: kind = "loop"
            case .deviceMapper: kind = "dm"
            case .md, .scsiDisk, .nullBlock, .other: kind = "other"
            }
            let fits = facts.hasProtectionInformation ? [] : AuthenticatedCipher.common
                .filter { $0.metadataBytes <= facts.freeTagBytes }
                .map { NamespaceReportJSON.Cipher(name: $0.name, metadataBytes: $0.metadataBytes) }
            return Device(path: d.path, name: d.name, kind: kind, description: d.kindDescription,
                          logicalBlockSize: d.logicalBlockSize, physicalBlockSize: d.physicalBlockSize,
                          sizeBytes: d.sizeBytes, metadataBytes: d.metadataBytes, integrityFormat: d.integrity.description,
                          tagSize: d.integrityTagSize, freeMetadataBytes: facts.hasProtectionInformation ? 0 : facts.freeTagBytes,
                          protectionInformation: facts.hasProtectionInformation, fits: fits,
                          holders: d.holders.map(\.description), mounts: d.mounts,
                          lbaFormats: d.namespace.map { NamespaceReportJSON($0).fits },
                          namespaceProblem: d.namespaceProblem)
        }
        facts = Facts(kernelRelease: f.kernelRelease, root: f.isRoot,
                      modules: f.modules.map { Module(name: $0.name, state: $0.state, loadedByCheck: $0.loadedByCheck) },
                      deviceMapper: dm, aeads: aeads,
                      libcryptsetup: Library(version: f.cryptsetupVersion, inlineHWTags: f.cryptsetupHasInlineTags),
                      device: device)
    }
}
