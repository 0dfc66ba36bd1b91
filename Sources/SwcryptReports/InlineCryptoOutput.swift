import SwcryptCore

/// `swcrypt inline-crypto`: human lines.
extension InlineCryptoReport {
    public var lines: [String] {
        var lines = [String]()
        for d in devices {
            lines.append("\(d.path): " + (d.capability.map(\.summary) ?? "no inline-encryption hardware (no \(d.sysfsPath))"))
        }
        if devices.count > 1 {
            let names = devices.map(\.path).joined(separator: ", ")
            if let p = passthrough {
                lines.append("passthrough mapping (linear, flakey) over \(names): \(p.summary)"
                             + " (the mapping itself shows num_keyslots 0; keys go to the devices below)")
            } else {
                let missing = devices.filter { $0.capability == nil }.map(\.path)
                lines.append("passthrough mapping (linear, flakey) over \(names): no inline encryption"
                             + (missing.isEmpty ? " (no mode in common)" : " (\(missing.joined(separator: ", ")) \(missing.count == 1 ? "has" : "have") none)"))
            }
        }
        lines.append(fallback.summary)
        if effective != nil {
            lines.append("fscrypt v2 policies, \(FscryptPolicy.contentsMode) contents, mounted with -o inlinecrypt:")
            for e in evaluations {
                let head = "  \(e.filesystem) \(e.policy.rawValue) (data unit \(e.dataUnitSize), \(e.dunBitsNeeded ?? 0) DUN bits): "
                lines.append(head + (e.hardware ? "hardware can serve it" : "not in hardware: " + e.reasons.joined(separator: "; ")))
            }
            lines.append("notes:")
            var seen = Set<String>()
            for e in evaluations where e.policyAllowed {
                for n in e.notes where seen.insert("\(e.policy.rawValue): \(n)").inserted {
                    lines.append("  \(e.policy.rawValue): \(n)")
                }
            }
            lines.append("  fscrypt DUNs are file-relative, never block addresses: the filesystem may relocate blocks (f2fs garbage collection); ext4 refuses online defragmentation of encrypted files under every policy")
        } else {
            lines.append("fscrypt: no policy can use inline-encryption hardware here"
                         + (fallback.enabled == true ? "; -o inlinecrypt would use blk-crypto-fallback (software)"
                            : "; use fscrypt without -o inlinecrypt (filesystem-layer crypto)"))
        }
        return lines
    }
}

/// The `--json` shape (snake_case, stable). `inline_crypto` is null for a device without
/// a profile; `passthrough` is the capability of a mapping over all of them (null for one device or none in common).
public struct InlineCryptoReportJSON: Encodable {
    public struct Mode: Encodable {
        public var name: String
        public var dataUnitSizes: [Int]
        public var mask: String
    }

    public struct Capability: Encodable {
        public var modes: [Mode]
        public var maxDUNBits: Int
        public var numKeyslots: Int
        @ExplicitNull public var hwWrappedKeys: Bool?
        @ExplicitNull public var rawKeys: Bool?

        public init?(_ c: InlineCryptoCapability?) {
            guard let c else { return nil }
            modes = c.modes.map { Mode(name: $0.name, dataUnitSizes: $0.dataUnitSizes, mask: $0.maskText) }
            maxDUNBits = c.maxDUNBits
            numKeyslots = c.keyslots
            hwWrappedKeys = c.hardwareWrappedKeys
            rawKeys = c.rawKeys
        }
    }

    public struct Device: Encodable {
        public var device: String
        public var sysfs: String
        @ExplicitNull public var inlineCrypto: Capability?
        @ExplicitNull public var message: String?
    }

    public struct Fallback: Encodable {
        @ExplicitNull public var enabled: Bool?
        @ExplicitNull public var blkInlineEncryption: Bool?
        public var source: String
    }

    public struct Policy: Encodable {
        public var policy: String
        public var filesystem: String
        public var dataUnitSize: Int
        @ExplicitNull public var dunBits: Int?
        public var hardware: Bool
        public var policyAllowed: Bool
        public var reasons: [String]
        public var notes: [String]
    }

    public var devices: [Device]
    @ExplicitNull public var passthrough: Capability?
    public var inlineEncryptionHardware: Bool
    public var summary: String
    public var fallback: Fallback
    public var fscrypt: [Policy]


    public init(_ r: InlineCryptoReport) {
        devices = r.devices.map {
            Device(device: $0.path, sysfs: $0.sysfsPath, inlineCrypto: Capability($0.capability),
                   message: $0.capability == nil ? InlineCryptoReport.noHardware : nil)
        }
        passthrough = r.devices.count > 1 ? Capability(r.passthrough) : nil
        inlineEncryptionHardware = r.hasHardware
        summary = r.hasHardware ? "inline-encryption hardware present" : InlineCryptoReport.noHardware
        fallback = Fallback(enabled: r.fallback.enabled, blkInlineEncryption: r.fallback.blockLayerSupport, source: r.fallback.source)
        fscrypt = r.evaluations.map {
            Policy(policy: $0.policy.rawValue, filesystem: $0.filesystem, dataUnitSize: $0.dataUnitSize,
                   dunBits: $0.dunBitsNeeded, hardware: $0.hardware, policyAllowed: $0.policyAllowed,
                   reasons: $0.reasons, notes: $0.notes)
        }
    }
}
