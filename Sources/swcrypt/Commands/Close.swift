import ArgumentParser
import Foundation
import Synchronization
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Close: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Close a LUKS2 mapping with its whole stack (also one opened by cryptsetup).")
    @Argument var name: String
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        try VolumeManager().close(name: name)
    }
}
