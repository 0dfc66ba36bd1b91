import ArgumentParser
import Foundation
import Synchronization
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show an open LUKS2 mapping.")
    @Argument var name: String
    @Flag var json = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let manager = VolumeManager()
        let (info, active) = try manager.status(name: name)
        let report = VolumeReport(status: info, active: active, name: name, errors: manager.integrityErrors(name: name),
                                  recorded: Watcher.counters())
        try Output.report(report, json: json)
    }
}
