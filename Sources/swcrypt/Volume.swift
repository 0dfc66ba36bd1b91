import ArgumentParser
import Foundation
import Synchronization
import SwcryptCore
import SwcryptKit

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
    @Option(help: "PBKDF: argon2id (default), argon2i, pbkdf2.") var pbkdf = "argon2id"
    @Option(name: [.customShort("i"), .long], help: "PBKDF time in milliseconds.") var iterTime: UInt32?
    @Option(help: "PBKDF memory in KiB (argon2).") var pbkdfMemory: UInt32?
    @Option(help: "Fixed PBKDF iterations, no benchmark (tests).") var pbkdfForceIterations: UInt32?
    @Option(help: "LUKS2 label.") var label: String?
    @Flag(help: "Skip initialising the tags (sectors not written since fail to read).") var noWipe = false
    @Option(help: "Initialisation: KiB per write.") var initBlockKib = 4096
    @Option(help: "Initialisation: writes in flight (default: measured in the first seconds, 1 to 16, the fastest kept).") var initQueueDepth: Int?
    @Flag(help: "Do not read every sector back after initialising it.") var noVerify = false
    @Flag(help: "No progress line on the terminal.") var quiet = false
    @Flag(help: "Progress as JSON lines on stdout, as cryptsetup's --progress-json (device, device_bytes, device_size, speed, eta_ms, time_ms; plus phase: wipe or verify), about once a second.")
    var progressJson = false
    @Flag(help: "Print the result as JSON.") var json = false
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
        r.pbkdf = pbkdf
        r.iterationTimeMs = iterTime
        r.memoryKiB = pbkdfMemory
        r.forcedIterations = pbkdfForceIterations
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
        let reporter: (@Sendable (WipeProgress) -> Void)? = progressJson ? ProgressJSON(device: device).report
            : showProgress ? Progress.line : nil
        let result = try manager.execute(plan, progress: reporter)
        if showProgress { Output.prompt("\n") }
        if json {
            try Output.json(VolumeJSON(result.info, active: nil, name: nil, initialised: result.initialised))
        } else {
            print("\(result.device): \(plan.layoutDescription)")
            print("  cipher \(plan.spec.cryptsetupName), integrity \(plan.integrity.cryptsetupName), \(plan.tagBytes) tag bytes, sector \(plan.sectorSize), uuid \(result.info.uuid)")
            if let w = result.wipe {
                let depth = w.inFlight.map { n in
                    ", \(n) writes in flight" + (w.ramp.isEmpty ? "" : " (measured: " + w.ramp.map {
                        "\($0.inFlight): \(String(format: "%.1f", $0.bytesPerSecond / 1_048_576))" }.joined(separator: ", ") + " MiB/s)")
                } ?? ""
                print("  initialised \(formatMiB(w.done)) in \(String(format: "%.1f", w.seconds)) s (\(String(format: "%.1f", w.bytesPerSecond / 1_048_576)) MiB/s\(depth))")
                if result.verified {
                    print("  verified: every sector reads back")
                }
            }
        }
    }
}

/// cryptsetup's --progress-json lines (strings for the numbers, as cryptsetup
/// prints them), at most one a second per phase and always the last one.
final class ProgressJSON: Sendable {
    let device: String
    let last = Mutex<(phase: WipeProgress.Phase, seconds: Double)?>(nil)

    init(device: String) { self.device = device }

    @Sendable func report(_ p: WipeProgress) {
        let due = last.withLock { previous -> Bool in
            let finalLine = p.done == p.total
            guard finalLine || previous == nil || previous!.phase != p.phase || p.seconds - previous!.seconds >= 1 else { return false }
            previous = (p.phase, p.seconds)
            return true
        }
        guard due else { return }
        let speed = UInt64(p.bytesPerSecond)
        let eta = p.done < p.total && p.bytesPerSecond > 0 ? UInt64(Double(p.total - p.done) / p.bytesPerSecond * 1000) : 0
        let escaped = device.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let line = "{\"device\":\"\(escaped)\",\"device_bytes\":\"\(p.done)\",\"device_size\":\"\(p.total)\",\"speed\":\"\(speed)\",\"eta_ms\":\"\(eta)\",\"time_ms\":\"\(UInt64(p.seconds * 1000))\",\"phase\":\"\(p.phase.rawValue)\"}\n"
        Output.stdout(line)
    }
}

enum Progress {
    @Sendable static func line(_ p: WipeProgress) {
        let pct = p.total > 0 ? 100 * Double(p.done) / Double(p.total) : 0
        let rate = p.bytesPerSecond / 1_048_576
        let eta = p.bytesPerSecond > 0 ? Int(Double(p.total - p.done) / p.bytesPerSecond) : 0
        Output.prompt(String(format: "\rinitialising tags: %5.1f%%  %7.1f MiB/s  ETA %d:%02d ", pct, rate, eta / 60, eta % 60))
    }
}

enum Confirm {
    /// Asks to type the device name back, on a terminal; -q/--batch-mode skips; no terminal refuses.
    static func typeBack(_ name: String, path: String, summary: [String], yes: Bool) throws {
        if yes { return }
        guard isatty(STDIN_FILENO) == 1 else {
            throw SwcryptError(.failure, device: path, "refusing without confirmation: no terminal to ask on; pass -q/--batch-mode (or --yes)")
        }
        Output.note("WARNING: this destroys all data.")
        for line in summary { Output.note(line) }
        Output.prompt("Type the device name (\(name)) to continue: ")
        let answer = readLine(strippingNewline: true) ?? ""
        guard answer == name || answer == "/dev/\(name)" || answer == path else {
            throw SwcryptError(.failure, device: path, "not confirmed; nothing was changed")
        }
    }
}

struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open a LUKS2 volume (swcrypt's or cryptsetup's) as /dev/mapper/NAME.")
    @Argument var device: String
    @Argument var name: String
    @OptionGroup var readOnly: ReadOnlyOption
    @Flag(help: "Let discards (TRIM) through; refused on authenticated volumes, where a discarded sector loses its tag.")
    var allowDiscards = false
    @OptionGroup var perf: PerfOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let (_, warnings) = try VolumeManager().open(path: device, name: name, passphrase: passphrase.source(verifyByDefault: false),
                                                     readOnly: readOnly.readonly, performance: perf.flags, allowDiscards: allowDiscards)
        for w in warnings { Output.note("warning: \(w)") }
    }
}

struct Close: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Close a LUKS2 mapping with its whole stack (also one opened by cryptsetup).")
    @Argument var name: String
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        try VolumeManager().close(name: name)
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show an open LUKS2 mapping.")
    @Argument var name: String
    @Flag var json = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let manager = VolumeManager()
        let (info, active) = try manager.status(name: name)
        var v = VolumeJSON(info, active: active, name: name, initialised: info.subsystem != uninitialisedMarker)
        let errors = manager.integrityErrors(name: name, dataDevice: info.device)
        v.integrityErrors = IntegrityErrorsJSON(count: errors.count, lastDevice: errors.lastDevice, lastSector: errors.lastSector)
        if json {
            try Output.json(v)
        } else {
            for line in v.lines { print(line) }
            print("  integrity errors: \(errors.summary)")
        }
    }
}

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a LUKS2 header.")
    @Argument var device: String
    @Flag var json = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let info = try VolumeManager().dump(path: device)
        let v = VolumeJSON(info, active: nil, name: nil, initialised: info.subsystem != uninitialisedMarker)
        if json { try Output.json(v) } else { for line in v.lines { print(line) } }
    }
}

/// status/dump, human and JSON from one model.
struct VolumeJSON: Encodable {
    var name: String?
    var type: String
    var uuid: String
    var cipher: String
    var integrity: String?
    var tagBytes: Int
    var tags: String
    var sectorSize: Int
    var keyBits: Int
    var device: String
    var offsetSectors: UInt64
    var sizeSectors: UInt64?
    var readOnly: Bool?
    var keyslots: [Int]
    var initialised: Bool
    var label: String
    /// status only: read-time integrity failures in the kernel log.
    var integrityErrors: IntegrityErrorsJSON?

    enum CodingKeys: String, CodingKey {
        case name, type, uuid, cipher, integrity, tags, device, keyslots, initialised, label
        case integrityErrors = "integrity_errors"
        case tagBytes = "tag_bytes", sectorSize = "sector_size", keyBits = "key_bits"
        case offsetSectors = "offset_sectors", sizeSectors = "size_sectors", readOnly = "read_only"
    }

    init(_ i: LUKSInfo, active: ActiveVolume?, name: String?, initialised: Bool) {
        self.name = name
        type = i.type
        uuid = i.uuid
        cipher = "\(i.cipher)-\(i.cipherMode)"
        integrity = i.integrity
        tagBytes = i.tagBytes
        switch i.layout {
        case .inlineHardware: tags = "inline-hw"
        case .dmIntegrity(let journal):
            let j = active.map { !$0.noJournal } ?? journal
            tags = "dm-integrity-" + (j ? "journal" : "no-journal")
        case .none: tags = "none"
        }
        sectorSize = i.sectorSize
        keyBits = i.keyBytes * 8
        device = i.device
        offsetSectors = active?.offset ?? i.dataOffset
        sizeSectors = active?.size
        readOnly = active?.readOnly
        keyslots = i.keyslots
        self.initialised = initialised
        label = i.label
    }

    var lines: [String] {
        var l = [String]()
        if let name { l.append("/dev/mapper/\(name) is active\(readOnly == true ? " (read-only)" : "")") }
        l.append("  type:        \(type)")
        l.append("  cipher:      \(cipher)")
        l.append("  integrity:   \(integrity ?? "none") (\(tagBytes) bytes per sector)")
        l.append("  tags:        \(tags)")
        l.append("  sector size: \(sectorSize)")
        l.append("  key:         \(keyBits) bits")
        l.append("  device:      \(device)")
        l.append("  offset:      \(offsetSectors) sectors")
        if let sizeSectors { l.append("  size:        \(sizeSectors) sectors") }
        l.append("  keyslots:    \(keyslots.map(String.init).joined(separator: ", "))")
        l.append("  uuid:        \(uuid)")
        if !initialised { l.append("  WARNING:     not initialised (format was interrupted or --no-wipe)") }
        return l
    }
}

struct IntegrityErrorsJSON: Encodable {
    var count: Int
    var lastDevice: String?
    var lastSector: UInt64?
    enum CodingKeys: String, CodingKey {
        case count
        case lastDevice = "last_device", lastSector = "last_sector"
    }
}
