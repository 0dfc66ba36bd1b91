import ArgumentParser
import SwcryptCore
import SwcryptKit

struct Header: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Back up or restore a LUKS2 header with its keyslots (as cryptsetup luksHeaderBackup and luksHeaderRestore; the files are interchangeable).",
        subcommands: [HeaderBackup.self, HeaderRestore.self])
}

struct HeaderBackup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Write the header and keyslots to a new FILE (mode 0600; an existing file is never overwritten).")
    @Argument(help: "LUKS2 device.") var device: String
    @Argument(help: "Backup file to create.") var file: String
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        try VolumeManager().backupHeader(path: device, to: file)
    }
}

struct HeaderRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Write the header and keyslots in FILE over the device's. Confirms first; refuses a backup of another volume (UUID) or a device holding something else unless --force.")
    @Argument(help: "LUKS2 device.") var device: String
    @Argument(help: "Header backup file.") var file: String
    @Flag(help: "Restore even a backup of another volume, or over a device that holds no LUKS2 header.") var force = false
    @OptionGroup var confirm: ConfirmOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let manager = VolumeManager()
        let plan = try manager.planHeaderRestore(path: device, from: file, force: force)
        try Confirm.typeBack(plan.target.device.name, path: device, summary: plan.summaryLines, yes: confirm.batchMode)
        try manager.restoreHeader(plan)
    }
}
