import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports
import SwcryptNVMe
#if canImport(Glibc)
import Glibc
#endif

extension SecureErase: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "none": self = .none
        case "user-data": self = .userData
        case "crypto": self = .crypto
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["none", "user-data", "crypto"] }
}

struct NvmeFormat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nvme-format",
        abstract: "Reformat an NVMe namespace to an LBA format (e.g. one with per-sector metadata). Destroys all data.",
        discussion: """
            Metadata is always separate (MSET=0) and protection information off unless --pi is given,
            so the metadata stays free for dm-crypt/dm-integrity tags. Refuses while the namespace or a
            partition of it is mounted or held; asks to type the device name back unless -q/--batch-mode (--yes).
            After the format the kernel re-reads the namespace and swcrypt verifies the new geometry.
            """)

    @Argument(help: "NVMe namespace block device, e.g. /dev/nvme0n1.")
    var device: String

    @Option(help: "LBA format index (see `swcrypt id-ns`).")
    var lbaf: Int?

    @Option(help: "Data bytes per block, with --metadata: select the format by geometry.")
    var blockSize: Int?

    @Option(help: "Metadata bytes per block, with --block-size.")
    var metadata: Int?

    @Option(help: "Secure erase: none, user-data or crypto.")
    var ses: SecureErase = .none

    @Option(help: "Protection information type 0-3 (0: none; anything else takes metadata away from tags).")
    var pi: Int = 0

    @Flag(help: "Protection information in the first bytes of metadata (PIL=1).")
    var piFirst = false

    @Flag(help: "Accept that the controller formats all its namespaces at once (FNA bit 0).")
    var allNamespaces = false

    @Option(help: "Command timeout in milliseconds.")
    var timeout: UInt32 = 600_000

    @OptionGroup var confirmOptions: ConfirmOptions
    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        switch (lbaf, blockSize, metadata) {
        case (.some, nil, nil), (nil, .some, .some): break
        case (.some, _, _): throw ValidationError("give either --lbaf or --block-size with --metadata, not both")
        default: throw ValidationError("give --lbaf N, or --block-size B with --metadata M")
        }
    }

    func run() throws {
        global.apply()
        let selection: FormatSelection = lbaf.map { .index($0) } ?? .geometry(dataSize: blockSize!, metadata: metadata!)
        let request = FormatRequest(path: device, selection: selection, secureErase: ses, protectionType: pi,
                                    protectionFirst: piFirst, allNamespaces: allNamespaces,
                                    timeoutMilliseconds: timeout)
        let formatter = NamespaceFormatter()
        let plan = try formatter.plan(request)
        try Confirm.typeBack(plan.target.device.name, path: device, summary: plan.summaryLines, yes: confirmOptions.batchMode)
        let result = try formatter.execute(plan)
        for w in result.warnings { Output.note("warning: \(w)") }
        let report = NvmeFormatReport(result)
        try Output.report(report, json: json)
    }
}
