import ArgumentParser
import Foundation
import Synchronization
import SwcryptCore
import SwcryptKit
import SwcryptReports

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
