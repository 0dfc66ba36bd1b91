import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

extension IntegrityTarget.Mode: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "j", "journal": self = .journal
        case "b", "bitmap": self = .bitmap
        case "d", "direct", "no-journal": self = .direct
        case "r", "recovery": self = .recovery
        case "i", "inline": self = .inline
        default: return nil
        }
    }
    public static var allValueStrings: [String] { ["J", "B", "D", "R", "I"] }
}

/// Options every map command shares.
struct MapCommon: ParsableArguments {
    @Flag(help: "Print the table(s) that would be loaded (keys as keyring references) and do nothing.")
    var printTable = false

    @OptionGroup var readOnlyOption: ReadOnlyOption
    var readOnly: Bool { readOnlyOption.readonly }

    @Flag(help: "Print the created mappings as JSON.")
    var json = false

    @Flag(help: "Map crypt or integrity even over a range holding a signature libblkid knows (a filesystem, LUKS header, LVM or RAID member, partition table): it becomes unreadable and the first write destroys it.")
    var force = false

    @OptionGroup var global: GlobalOptions
}

struct KeyOptions: ParsableArguments {
    @Option(name: [.customShort("d"), .long], help: "Read exactly the key bytes from FILE ('-' for standard input). Never give keys on the command line.")
    var keyFile: String?

    @Flag(help: "Use a fresh random key (throwaway test mappings).")
    var randomKey = false

    func source() throws -> KeySource {
        switch (keyFile, randomKey) {
        case (let f?, false): return .file(f)
        case (nil, true): return .random
        case (.some, true): throw ValidationError("give --key-file or --random-key, not both")
        case (nil, false): throw ValidationError("give --key-file FILE (or - for stdin) or --random-key")
        }
    }
}

struct Map: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build, validate and activate device-mapper tables directly (for CI and test mappings).",
        discussion: "Every mapping gets a dm UUID starting SWCRYPT- so `swcrypt ls` and `swcrypt unmap` act on whole stacks and never on mappings swcrypt did not create. Validation runs before any device is touched.",
        subcommands: [MapCrypt.self, MapIntegrity.self, MapPassthrough.self, MapTable.self])
}

enum MapOutput {
    static func finish(_ plan: MapPlan, _ mapper: Mapper?, _ common: MapCommon) throws {
        var plan = plan
        plan.force = common.force
        if common.printTable {
            print(plan.printable)
            return
        }
        guard let mapper else { return }
        let infos = try mapper.activate(plan)
        if common.json {
            try Output.json(infos.map(MappingReport.init))
        } else {
            Output.lines(infos.map { MappingReport($0).line })
        }
    }

}

struct MapCrypt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crypt",
        abstract: "dm-crypt, authenticated by default: the tag and IV in the device's per-sector metadata, or in a dm-integrity layer (--emulate-metadata).")

    @Argument(help: "Mapping name (/dev/mapper/NAME).") var name: String
    @Argument(help: "Block device.") var device: String
    @Option(name: [.customShort("c"), .long], help: "Cipher, cryptsetup notation (aegis128-random, aes-gcm-random, chacha20-random, aes-xts-random) or the kernel's (capi:gcm(aes)-random). Default: aegis128-random if the kernel has it, else aes-gcm-random.")
    var cipher: String?
    @Option(name: [.customShort("I"), .long], help: "Integrity: aead, poly1305, hmac-sha256, hmac-sha512, none. Default follows the cipher.")
    var integrity: String?
    @Option(name: [.customShort("s"), .long], help: "Cipher key size in bits (the MAC key is added for hmac).") var keySize: Int?
    @Option(help: "Encryption sector size (default: the logical block size on metadata devices, else 4096).") var sectorSize: Int?
    @Option(help: "Data offset in 512-byte sectors.") var offset: UInt64 = 0
    @Option(help: "Mapping size in 512-byte sectors (default: the rest of the device).") var size: UInt64?
    @Option(help: "Put a dm-integrity layer beneath for devices without metadata: journal, bitmap or direct.")
    var emulateMetadata: String?
    @Flag(help: "dm-crypt allow_discards (and on the dm-integrity layer beneath).") var allowDiscards = false
    @OptionGroup var perf: PerfOptions
    @Flag(help: "Accept insecure constructions (deterministic IVs with AEADs, integrity without authentication).")
    var allowInsecure = false
    @Flag(help: "Skip the AF_ALG check that the kernel has the cipher; let the table load decide (for tests of rollback).")
    var skipCipherProbe = false
    @OptionGroup var key: KeyOptions
    @OptionGroup var common: MapCommon

    func run() throws {
        common.global.apply()
        var r = CryptMapRequest(name: name, device: device, keySource: try key.source())
        r.cipher = cipher
        r.integrity = integrity
        r.keyBits = keySize
        r.sectorSize = sectorSize
        r.offset = offset
        r.sizeSectors = size
        if let e = emulateMetadata {
            guard let mode = IntegrityTarget.Mode(argument: e), [.journal, .bitmap, .direct].contains(mode) else {
                throw SwcryptError(.failure, device: device, "--emulate-metadata wants journal, bitmap or direct, not '\(e)'")
            }
            r.emulateMetadata = mode
        }
        r.allowDiscards = allowDiscards
        r.performance = perf.flags
        r.readOnly = common.readOnly
        r.allowInsecure = allowInsecure
        r.probeCipher = !skipCipherProbe
        let mapper = try Mapper.privileged()
        try MapOutput.finish(try mapper.planCrypt(r), mapper, common)
    }
}

struct MapIntegrity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integrity",
        abstract: "dm-integrity in any mode: J journal, B bitmap, D direct, R recovery, I inline (tags in the device's metadata, Linux 6.11+).")

    @Argument var name: String
    @Argument var device: String
    @Option(help: "J, B, D, R or I.") var mode: IntegrityTarget.Mode
    @Option(help: "Tag bytes per block (default: the internal hash's size).") var tagSize: Int?
    @Option(help: "Checksum kept by dm-integrity itself: crc32c, sha256, ...") var internalHash: String?
    @Option var blockSize: Int?
    @Option var journalSectors: Int?
    @Option var interleaveSectors: Int?
    @Option var bufferSectors: Int?
    @Option var journalWatermark: Int?
    @Option var commitTime: Int?
    @Option var sectorsPerBit: Int?
    @Option var bitmapFlushInterval: Int?
    @Flag var allowDiscards = false
    @Flag var recalculate = false
    @Flag var fixHmac = false
    @OptionGroup var common: MapCommon

    func run() throws {
        common.global.apply()
        var t = IntegrityTarget(device: device, tagSize: tagSize ?? 0, mode: mode)
        t.internalHash = internalHash
        t.blockSize = blockSize
        t.journalSectors = journalSectors
        t.interleaveSectors = interleaveSectors
        t.bufferSectors = bufferSectors
        t.journalWatermark = journalWatermark
        t.commitTime = commitTime
        t.sectorsPerBit = sectorsPerBit
        t.bitmapFlushInterval = bitmapFlushInterval
        t.allowDiscards = allowDiscards
        t.recalculate = recalculate
        t.fixHmac = fixHmac
        var r = IntegrityMapRequest(name: name, device: device, target: t)
        r.readOnly = common.readOnly
        let mapper = try Mapper.privileged()
        try MapOutput.finish(try mapper.planIntegrity(r), mapper, common)
    }
}

struct MapPassthrough: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passthrough",
        abstract: "A linear mapping over one or more whole devices (passes inline-encryption capability through).")

    @Argument var name: String
    @Argument(help: "Devices, concatenated in order.") var devices: [String]
    @Flag(help: "Replace the table of the live passthrough mapping NAME (e.g. append a device). Refused, before anything is touched, when the new devices would take away inline-encryption capability the mapping has: the kernel refuses such reloads.")
    var reload = false
    @OptionGroup var common: MapCommon

    func run() throws {
        common.global.apply()
        let mapper = try Mapper.privileged()
        guard reload else {
            try MapOutput.finish(try mapper.planPassthrough(name: name, devices: devices, readOnly: common.readOnly), mapper, common)
            return
        }
        let plan = try mapper.planPassthroughReload(name: name, devices: devices)
        if common.printTable {
            print(plan.printable)
            return
        }
        let info = try mapper.reload(plan)
        if common.json {
            try Output.json([MappingReport(info)])
        } else {
            print(MappingReport(info).line + ": table reloaded")
        }
    }
}

struct MapTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Load a raw table from a file after validating it. Keys must be keyring references (:<size>:logon:<desc>) to a key already in your user keyring.")

    @Argument var name: String
    @Option(help: "Table file ('-' for standard input).") var tableFile: String
    @Flag(help: "Accept insecure constructions and hex keys.") var allowInsecure = false
    @OptionGroup var common: MapCommon

    func run() throws {
        common.global.apply()
        let text = try TextInput.read(tableFile)
        let mapper = try Mapper.privileged()
        try MapOutput.finish(try mapper.planTable(name: name, text: text, readOnly: common.readOnly,
                                                  allowInsecure: allowInsecure), mapper, common)
    }
}

struct Unmap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a mapping swcrypt made, with every layer of its stack. Refuses mappings swcrypt did not create.")

    @Argument var name: String
    @Flag(help: "Let the kernel remove it when its last user closes it.") var deferred = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        try Mapper.privileged().unmap(name: name, deferred: deferred)
    }
}

struct Ls: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the mappings swcrypt made, by stack.")

    @Flag var json = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let stacks = try Mapper.privileged().stacks().map(StackReport.init)
        if json { try Output.json(stacks) } else { Output.lines(stacks.map(\.line)) }
    }
}

enum TextInput {
    static func read(_ path: String) throws -> String {
        if path == "-" {
            var lines = [String]()
            while let l = readLine(strippingNewline: false) { lines.append(l) }
            return lines.joined()
        }
        guard let t = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SwcryptError(.failure, device: path, "cannot read the table file")
        }
        return t
    }
}
