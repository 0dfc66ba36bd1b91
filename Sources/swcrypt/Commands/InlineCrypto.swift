import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

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
        try Output.report(report, json: json)
    }
}
