import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Unmap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a mapping swcrypt made, with every layer of its stack. Refuses mappings swcrypt did not create.")

    @Argument var name: String
    @Flag(help: "Let the kernel remove it when its last user closes it.") var deferred = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        try Mapper.privileged().unmap(name: name, deferred: deferred)
    }
}
