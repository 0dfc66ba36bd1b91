import ArgumentParser
import SwcryptCore
import SwcryptKit

struct InlineCrypto: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inline-crypto",
        abstract: "Show devices' inline-encryption (blk-crypto) capabilities and which fscrypt policies they can serve.",
        discussion: """
            Reads /sys/block/X/queue/crypto (modes with their data-unit sizes, max_dun_bits, num_keyslots).
            For several devices it also shows what a passthrough mapping (dm-linear, dm-flakey) over all of
            them exposes: the intersection. fscrypt v2 policies with AES-256-XTS contents are then checked
            for ext4 and f2fs: data-unit size, DUN bits, keyslots. Whether the kernel has blk-crypto-fallback
            is read from its build configuration (/boot/config-<release>). Exit 0 also when there is no
            inline-encryption hardware; that is a finding, not an error.
            """)

    @Argument(help: "Block devices, e.g. /dev/sda /dev/sdb.")
    var devices: [String]

    @Option(help: "fscrypt data-unit size in bytes (log2_data_unit_size); default: the filesystem block size.")
    var dataUnitSize: Int?

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let report = try InlineCryptoInspector().report(devices, dataUnitSize: dataUnitSize)
        if json {
            try Output.json(InlineCryptoReportJSON(report))
        } else {
            for line in report.humanLines { print(line) }
        }
    }
}

/// The `--json` shape (snake_case, stable). `inline_crypto` is null for a device without
/// a profile; `passthrough` appears for more than one device when a mapping over them would have a profile.
struct InlineCryptoReportJSON: Encodable {
    struct Mode: Encodable {
        var name: String
        var dataUnitSizes: [Int]
        var mask: String
        enum CodingKeys: String, CodingKey {
            case name, mask
            case dataUnitSizes = "data_unit_sizes"
        }
    }

    struct Capability: Encodable {
        var modes: [Mode]
        var maxDUNBits: Int
        var keyslots: Int
        var hardwareWrappedKeys: Bool?
        var rawKeys: Bool?
        enum CodingKeys: String, CodingKey {
            case modes
            case maxDUNBits = "max_dun_bits"
            case keyslots = "num_keyslots"
            case hardwareWrappedKeys = "hw_wrapped_keys"
            case rawKeys = "raw_keys"
        }

        init?(_ c: InlineCryptoCapability?) {
            guard let c else { return nil }
            modes = c.modes.map { Mode(name: $0.name, dataUnitSizes: $0.dataUnitSizes, mask: $0.maskText) }
            maxDUNBits = c.maxDUNBits
            keyslots = c.keyslots
            hardwareWrappedKeys = c.hardwareWrappedKeys
            rawKeys = c.rawKeys
        }
    }

    struct Device: Encodable {
        var device: String
        var sysfs: String
        @ExplicitNull var inlineCrypto: Capability?
        var message: String?
        enum CodingKeys: String, CodingKey {
            case device, sysfs, message
            case inlineCrypto = "inline_crypto"
        }
    }

    struct Fallback: Encodable {
        @ExplicitNull var enabled: Bool?
        @ExplicitNull var blockLayer: Bool?
        var source: String
        enum CodingKeys: String, CodingKey {
            case enabled, source
            case blockLayer = "blk_inline_encryption"
        }
    }

    struct Policy: Encodable {
        var policy: String
        var filesystem: String
        var dataUnitSize: Int
        var dunBits: Int?
        var hardware: Bool
        var policyAllowed: Bool
        var reasons: [String]
        var notes: [String]
        enum CodingKeys: String, CodingKey {
            case policy, filesystem, hardware, reasons, notes
            case dataUnitSize = "data_unit_size"
            case dunBits = "dun_bits"
            case policyAllowed = "policy_allowed"
        }
    }

    var devices: [Device]
    var passthrough: Capability?
    var hardware: Bool
    var summary: String
    var fallback: Fallback
    var fscrypt: [Policy]

    enum CodingKeys: String, CodingKey {
        case devices, passthrough, fallback, fscrypt, summary
        case hardware = "inline_encryption_hardware"
    }

    init(_ r: InlineCryptoReport) {
        devices = r.devices.map {
            Device(device: $0.path, sysfs: $0.sysfsPath, inlineCrypto: Capability($0.capability),
                   message: $0.capability == nil ? InlineCryptoReport.noHardware : nil)
        }
        passthrough = r.devices.count > 1 ? Capability(r.passthrough) : nil
        hardware = r.hasHardware
        summary = r.hasHardware ? "inline-encryption hardware present" : InlineCryptoReport.noHardware
        fallback = Fallback(enabled: r.fallback.enabled, blockLayer: r.fallback.blockLayerSupport, source: r.fallback.source)
        fscrypt = r.evaluations.map {
            Policy(policy: $0.policy.rawValue, filesystem: $0.filesystem, dataUnitSize: $0.dataUnitSize,
                   dunBits: $0.dunBitsNeeded, hardware: $0.hardware, policyAllowed: $0.policyAllowed,
                   reasons: $0.reasons, notes: $0.notes)
        }
    }
}
