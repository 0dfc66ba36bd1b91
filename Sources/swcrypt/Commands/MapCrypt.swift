import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

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
