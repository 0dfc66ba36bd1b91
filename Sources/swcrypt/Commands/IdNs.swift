import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct IdNs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "id-ns",
        abstract: "Show an NVMe namespace's LBA formats, the kernel's view and which authenticated-encryption tags fit.",
        discussion: "The heading and 'lbaf' lines are byte-for-byte those of nvme-cli's `nvme id-ns`, so existing grep one-liners keep working.")

    @Argument(help: "NVMe namespace block device, e.g. /dev/nvme0n1.")
    var device: String

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let report = try NamespaceInspector().report(device)
        try Output.report(report, json: json)
    }
}
