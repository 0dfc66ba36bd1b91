import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Map: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build, validate and activate device-mapper tables directly (for CI and test mappings).",
        discussion: "Every mapping gets a dm UUID starting SWCRYPT- so `swcrypt ls` and `swcrypt unmap` act on whole stacks and never on mappings swcrypt did not create. Validation runs before any device is touched.",
        subcommands: [MapCrypt.self, MapIntegrity.self, MapPassthrough.self, MapTable.self])
}

enum MapOutput {
    static func finish(_ plan: MapPlan, _ mapper: Mapper?, _ common: MapCommon) throws {
        var plan = plan
        plan.force = common.force
        if common.printTable {
            print(plan.printable)
            return
        }
        guard let mapper else { return }
        let infos = try mapper.activate(plan)
        try Output.report(infos.map(MappingReport.init), json: common.json)
    }

}
