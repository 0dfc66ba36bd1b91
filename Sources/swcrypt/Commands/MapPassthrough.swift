import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct MapPassthrough: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passthrough",
        abstract: "A linear mapping over one or more whole devices (passes inline-encryption capability through).")

    @Argument var name: String
    @Argument(help: "Devices, concatenated in order.") var devices: [String]
    @Flag(help: "Replace the table of the live passthrough mapping NAME (e.g. append a device). Refused, before anything is touched, when the new devices would take away inline-encryption capability the mapping has: the kernel refuses such reloads.")
    var reload = false
    @OptionGroup var common: MapCommon

    func run() throws {
        common.global.apply()
        let mapper = try Mapper.privileged()
        guard reload else {
            try MapOutput.finish(try mapper.planPassthrough(name: name, devices: devices, readOnly: common.readOnly), mapper, common)
            return
        }
        let plan = try mapper.planPassthroughReload(name: name, devices: devices)
        if common.printTable {
            print(plan.printable)
            return
        }
        let info = try mapper.reload(plan)
        if common.json {
            try Output.json([MappingReport(info)])
        } else {
            print(MappingReport(info).line + ": table reloaded")
        }
    }
}
