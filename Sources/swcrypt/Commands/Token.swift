import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage a LUKS2 volume's tokens (as cryptsetup token): what open tries before asking for a passphrase.",
        discussion: "open tries every token first (libcryptsetup's built-in luks2-keyring handler and the system's external plugins: systemd-tpm2, systemd-fido2, systemd-pkcs11), then the passphrase; --token-only, --token-id, --token-type restrict it.",
        subcommands: [TokenList.self, TokenExport.self, TokenImport.self, TokenRemove.self])
}

struct TokenList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the tokens and the keyslots each unlocks.")
    @OptionGroup var a: HeaderListArguments

    func run() throws {
        let report = try a.report()
        if a.json { try Output.json(report.tokens) } else { Output.lines(report.tokenLines) }
    }
}

struct TokenExport: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Print a token's JSON (as cryptsetup token export).")
    @Argument(help: "LUKS2 device.") var device: String
    @Option(help: "The token.") var tokenId: Int
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        print(try VolumeManager().exportToken(path: device, id: tokenId))
    }
}

struct TokenImport: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Store a token read from FILE or standard input (as cryptsetup token import).")
    @Argument(help: "LUKS2 device.") var device: String
    @Option(help: "The token's JSON ('-' for standard input).") var jsonFile = "-"
    @Option(help: "The token id to use (default: the first free one).") var tokenId: Int?
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let id = try VolumeManager().importToken(path: device, json: try TextInput.read(jsonFile), id: tokenId)
        Output.note("Token \(id) created.")
    }
}

struct TokenRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a token (its keyslot stays: remove that with key kill).")
    @Argument(help: "LUKS2 device.") var device: String
    @Option(help: "The token.") var tokenId: Int
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        try VolumeManager().removeToken(path: device, id: tokenId)
        Output.note("Token \(tokenId) removed.")
    }
}
