import ArgumentParser
import Foundation
import Synchronization
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a LUKS2 header.")
    @Argument var device: String
    @Flag var json = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let info = try VolumeManager().dump(path: device)
        let report = VolumeReport(header: info)
        try Output.report(report, json: json)
    }
}
