import ArgumentParser
import SwcryptCore
import SwcryptKit
#if canImport(Glibc)
import Glibc
#endif

struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open a LUKS2 volume (swcrypt's or cryptsetup's) as /dev/mapper/NAME.",
        discussion: "With --test-passphrase only the passphrase is checked (NAME is then not needed): exit 0 and the keyslot it opens, or exit 2.")
    @Argument var device: String
    @Argument var name: String?
    @OptionGroup var readOnly: ReadOnlyOption
    @Flag(help: "Let discards (TRIM) through; refused on authenticated volumes, where a discarded sector loses its tag.")
    var allowDiscards = false
    @Option(name: [.customShort("S"), .long], help: "Try only this keyslot.") var keySlot: Int?
    @Option(name: [.customShort("T"), .long], help: "Passphrase attempts on a terminal (default 3; a key file is read once).") var tries = 3
    @Flag(help: "Only check that the passphrase opens a keyslot; create no mapping.") var testPassphrase = false
    @Flag(help: "Open through a token only; never ask for a passphrase.") var tokenOnly = false
    @Flag(help: "Do not try tokens; ask for the passphrase.") var disableTokens = false
    @Option(help: "Try only this token.") var tokenId: Int?
    @Option(help: "Try only tokens of this type (systemd-tpm2, luks2-keyring, clevis, ...).") var tokenType: String?
    @Option(help: "Seconds a clevis token may take to answer (tang, TPM2), as crypttab's token-timeout= (default 30).")
    var tokenTimeout: Double = 30
    @OptionGroup var perf: PerfOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if name == nil && !testPassphrase { throw ValidationError("give the mapping NAME (or --test-passphrase)") }
        if tries < 1 { throw ValidationError("--tries must be at least 1") }
        if tokenTimeout <= 0 { throw ValidationError("--token-timeout must be more than 0 seconds") }
        if tokenOnly && disableTokens { throw ValidationError("--token-only and --disable-tokens contradict each other") }
    }

    func run() throws {
        global.apply()
        var r = OpenRequest(path: device, name: testPassphrase ? nil : name, passphrase: passphrase.source(verifyByDefault: false))
        r.readOnly = readOnly.readonly
        r.performance = perf.flags
        r.allowDiscards = allowDiscards
        r.slot = keySlot
        r.tries = tries
        r.tokens = tokenOnly ? .only : disableTokens ? .never : .auto
        r.tokenID = tokenId
        r.tokenType = tokenType
        r.tokenTimeout = tokenTimeout
        let (_, warnings) = try VolumeManager().open(r)
        for w in warnings { Output.note(testPassphrase ? w : "warning: \(w)") }
    }
}
