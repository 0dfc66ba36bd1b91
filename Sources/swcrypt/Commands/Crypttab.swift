import ArgumentParser
import SwcryptCore
import SwcryptKit

struct Crypttab: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the line that opens a volume at boot: for /etc/crypttab when the system's own cryptsetup can open it, for /etc/swcrypttab otherwise, and why.",
        discussion: "The key file is printed as none (asked at boot); put a key file's path there for unattended boots. The comment line says which file and why, so the output can be appended as it is.")
    @Argument(help: "An open mapping's name, or a LUKS2 device.") var nameOrDevice: String
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let advice = try BootVolumes().crypttabLine(for: nameOrDevice)
        print("# for \(advice.file): \(advice.reason)")
        print(advice.line)
    }
}
