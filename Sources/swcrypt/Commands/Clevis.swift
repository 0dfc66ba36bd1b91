import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Clevis: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bind a LUKS2 volume to a tang server or a TPM2 through clevis (as clevis luks bind/unbind/list).",
        discussion: """
            bind adds a keyslot with a random passphrase that `clevis encrypt PIN CONFIG` encrypts, stored as a \
            token in clevis's own format: `clevis luks list` reads it, and open (and /etc/swcrypttab at boot) \
            unlocks it with `clevis decrypt` before asking for a passphrase. swcrypt does this itself because \
            `clevis luks bind` runs the system's cryptsetup, which before 2.8 refuses inline volumes.
            """,
        subcommands: [ClevisBind.self, ClevisUnbind.self, ClevisList.self])
}

struct ClevisBind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bind",
        abstract: "Add a keyslot unlocked by clevis: PIN is tang, tpm2 or sss, CONFIG its JSON (e.g. '{\"url\":\"http://tang.example\"}').",
        discussion: "An existing passphrase authenticates (--key-file, or asked). For tang without \"adv\" in CONFIG, clevis shows the server's key thumbprints and asks whether to trust them.")
    @Argument(help: "LUKS2 device.") var device: String
    @Argument(help: "The clevis pin: tang, tpm2, sss.") var pin: String
    @Argument(help: "The pin's configuration (JSON).") var config: String
    @Option(name: [.customShort("S"), .long], help: "The keyslot to create (default: the first free one).") var keySlot: Int?
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var pbkdf: PBKDFOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let b = try VolumeManager().clevisBind(path: device, existing: passphrase.source(verifyByDefault: false), pin: pin,
                                               config: config, slot: keySlot, pbkdf: pbkdf.choice)
        Output.note("Key slot \(b.keyslot) created for clevis \(b.pin), token \(b.tokenID).")
    }
}

struct ClevisUnbind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unbind", abstract: "Remove a clevis binding: its token and its keyslot (as clevis luks unbind -s).")
    @Argument(help: "LUKS2 device.") var device: String
    @Option(name: [.customShort("S"), .long], help: "The keyslot bound to clevis.") var keySlot: Int
    @Flag(help: "Remove it even when it is the last keyslot (the volume can then never be opened again).") var force = false
    @OptionGroup var confirm: ConfirmOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        try Confirm.yesNo("Remove the clevis binding of keyslot \(keySlot) of \(device), and the keyslot?", path: device, yes: confirm.batchMode)
        let b = try VolumeManager().clevisUnbind(path: device, slot: keySlot, force: force)
        Output.note("Key slot \(b.keyslot) and token \(b.tokenID) (clevis \(b.pin)) removed.")
    }
}

struct ClevisList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the clevis bindings, as clevis luks list: SLOT: PIN 'CONFIG'.")
    @Argument(help: "LUKS2 device (or header backup file).") var device: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let report = ClevisListReport(device: device, bindings: try VolumeManager().clevisBindings(path: device).map {
            .init(keyslot: $0.keyslot, token: $0.tokenID, pin: $0.pin)
        })
        try Output.report(report, json: json)
    }
}
