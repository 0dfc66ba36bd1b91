import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage a LUKS2 volume's keyslots (as cryptsetup luksAddKey, luksChangeKey, luksRemoveKey, luksKillSlot).",
        discussion: """
            Passphrases come from --key-file/--new-key-file (all of the file, or --keyfile-size bytes after \
            --keyfile-offset) or are asked on the terminal, never from the command line. A wrong passphrase \
            is exit 2. Removing or killing the last keyslot is refused without --force: the volume could \
            then never be opened again.
            """,
        subcommands: [KeyAdd.self, KeyChange.self, KeyRemove.self, KeyKill.self, KeyList.self])
}

/// What `key add` and `key change` take: the device, the slot, the passphrase that
/// opens the volume now, the new one, and how the new slot stretches it.
struct NewKeyArguments: ParsableArguments {
    @Argument(help: "LUKS2 device.") var device: String
    @Option(name: [.customShort("S"), .long], help: "add: the keyslot to create (default: the first free one); change: the only keyslot to change.")
    var keySlot: Int?
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var new: NewPassphraseOptions
    @OptionGroup var pbkdf: PBKDFOptions
    @OptionGroup var global: GlobalOptions

    typealias Action = (VolumeManager) -> (String, PassphraseSource, PassphraseSource, Int?, PBKDFChoice) throws(SwcryptError) -> Int

    /// Runs `add` or `change` with these arguments and says which slot it made.
    func run(_ action: Action, done: String) throws {
        global.apply()
        let slot = try action(VolumeManager())(device, passphrase.source(verifyByDefault: false), new.source, keySlot, pbkdf.choice)
        Output.note("Key slot \(slot) \(done).")
    }
}

struct KeyAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a keyslot, authenticated by an existing passphrase (--key-file, or asked).")
    @OptionGroup var a: NewKeyArguments

    func run() throws { try a.run(VolumeManager.addKey, done: "created") }
}

struct KeyChange: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "change", abstract: "Replace the passphrase of the keyslot the old one opens, in the same slot.")
    @OptionGroup var a: NewKeyArguments

    func run() throws { try a.run(VolumeManager.changeKey, done: "changed") }
}

struct KeyRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove the keyslot the given passphrase opens.")
    @Argument(help: "LUKS2 device.") var device: String
    @Flag(help: "Remove it even when it is the last keyslot (the volume can then never be opened again).") var force = false
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let slot = try VolumeManager().removeKey(path: device, passphrase: passphrase.source(verifyByDefault: false), force: force)
        Output.note("Key slot \(slot) removed.")
    }
}

struct KeyKill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill",
        abstract: "Remove keyslot N. A passphrase of another slot is asked (or --key-file) to prove the volume stays openable, unless -q/--batch-mode.")
    @Argument(help: "LUKS2 device.") var device: String
    @Argument(help: "The keyslot to remove.") var slot: Int
    @Flag(help: "Remove it even when it is the last keyslot (the volume can then never be opened again).") var force = false
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var confirm: ConfirmOptions
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        // As cryptsetup luksKillSlot: in batch mode no remaining passphrase is asked for
        // unless one is given.
        let remaining: PassphraseSource? = confirm.batchMode && passphrase.keyFile == nil ? nil : passphrase.source(verifyByDefault: false)
        try VolumeManager().killSlot(path: device, slot: slot, remaining: remaining, force: force)
        Output.note("Key slot \(slot) removed.")
    }
}

struct KeyList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the keyslots: PBKDF and its cost, priority, and the tokens that use each.")
    @OptionGroup var a: HeaderListArguments

    func run() throws { try Output.report(a.report(), json: a.json) }
}

/// What `key list` and `token list` take, and the one report both print from.
struct HeaderListArguments: ParsableArguments {
    @Argument(help: "LUKS2 device (or header backup file).") var device: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var global: GlobalOptions

    func report() throws -> KeyslotListReport {
        global.apply()
        let (slots, tokens) = try VolumeManager().keyslots(path: device)
        return KeyslotListReport(device: device, keyslots: slots, tokens: tokens)
    }
}
