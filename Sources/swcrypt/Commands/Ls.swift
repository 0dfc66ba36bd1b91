import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Ls: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the mappings swcrypt made, by stack.")

    @Flag var json = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let stacks = try Mapper.privileged().stacks().map(StackReport.init)
        try Output.report(stacks, json: json)
    }
}
