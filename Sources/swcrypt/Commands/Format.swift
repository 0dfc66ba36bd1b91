import ArgumentParser
import Foundation
import Synchronization
import SwcryptCore
import SwcryptKit
import SwcryptReports

extension IntegrityMode: ExpressibleByArgument {}

struct Format: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a LUKS2 volume with authenticated encryption: inline on the drive's metadata when it has room, dm-integrity otherwise.",
        discussion: """
            The volume is standard LUKS2 (libcryptsetup): cryptsetup, systemd-cryptsetup and crypttab open it.
            With --nvme-lbaf auto an NVMe namespace without enough metadata is first reformatted to the
            smallest 4096-byte format that holds the tag, so one command takes a blank drive to an inline volume.
            Every sector's tag is then initialised by writing through the mapping (a sector never written fails to read).
            """)

    @Argument(help: "Block device.") var device: String
    @Option(name: [.customShort("c"), .long], help: "Cipher (default aegis128-random when the kernel has aegis128, else aes-gcm-random).") var cipher: String?
    @Option(name: [.customShort("I"), .long], help: "aead, poly1305, hmac-sha256, hmac-sha512 (default follows the cipher).") var integrity: String?
    @Option(name: [.customShort("s"), .long], help: "Key size in bits.") var keySize: Int?
    @Option(help: "Encryption sector size (default: the logical block size; 4096 recommended).") var sectorSize: Int?
    @Option(help: "Without device metadata: journal (default, crash-safe) or no-journal.") var integrityMode: IntegrityMode = .journal
    @Option(help: "auto or an index: reformat an NVMe namespace without enough metadata first.") var nvmeLbaf: String?
    @Option(help: "LUKS2 label.") var label: String?
    @Flag(help: "Skip initialising the tags (sectors not written since fail to read).") var noWipe = false
    @Option(help: "Initialisation: KiB per write.") var initBlockKib = 4096
    @Option(help: "Initialisation: writes in flight (default: measured in the first seconds, 1 to 16, the fastest kept).") var initQueueDepth: Int?
    @Flag(help: "Do not read every sector back after initialising it.") var noVerify = false
    @Flag(help: "No progress line on the terminal.") var quiet = false
    @Flag(help: "Progress as JSON lines on stdout, as cryptsetup's --progress-json (device, device_bytes, device_size, speed, eta_ms, time_ms; plus phase: wipe or verify), about once a second.")
    var progressJson = false
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var pbkdf: PBKDFOptions
    @OptionGroup var confirm: ConfirmOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        // As cryptsetup luksFormat: asked twice on a terminal, unless in batch mode without -y.
        var r = VolumeFormatRequest(path: device, passphrase: passphrase.source(verifyByDefault: !confirm.batchMode))
        r.cipher = cipher
        r.integrity = integrity
        r.keyBits = keySize
        r.sectorSize = sectorSize
        r.integrityMode = integrityMode
        switch nvmeLbaf {
        case nil: r.nvmeLBAF = .keep
        case "auto": r.nvmeLBAF = .auto
        case let s?:
            guard let i = Int(s) else { throw SwcryptError(.failure, device: device, "--nvme-lbaf wants auto or an index, not '\(s)'") }
            r.nvmeLBAF = .index(i)
        }
        r.pbkdf = pbkdf.choice
        r.wipe = !noWipe
        let (bytes, overflow) = initBlockKib.multipliedReportingOverflow(by: 1024)
        r.initBlockBytes = overflow ? -1 : bytes
        if let initQueueDepth { r.initQueueDepth = initQueueDepth }
        r.verify = !noVerify
        r.label = label
        let manager = VolumeManager()
        let plan = try manager.plan(r)
        for w in plan.warnings { Output.note("warning: \(w)") }
        if noWipe { Output.note("warning: --no-wipe: no sector has a valid tag until written; mkfs and blkid will hit read errors") }
        try Confirm.typeBack(plan.target.device.name, path: device, summary: plan.summaryLines, yes: confirm.batchMode)
        let showProgress = !quiet && !json && !progressJson && isatty(STDERR_FILENO) == 1
        let terminal: @Sendable (WipeProgress) -> Void = { Output.prompt(ProgressOutput.terminalLine($0)) }
        let reporter: (@Sendable (WipeProgress) -> Void)? = progressJson ? ProgressJSON(device: device).report
            : showProgress ? terminal : nil
        let result = try manager.execute(plan, progress: reporter)
        if showProgress { Output.prompt("\n") }
        let report = FormatVolumeReport(plan: plan, result: result)
        try Output.report(report, json: json)
    }
}
