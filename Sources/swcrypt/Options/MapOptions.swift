import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

/// Options every map command shares.
struct MapCommon: ParsableArguments {
    @Flag(help: "Print the table(s) that would be loaded (keys as keyring references) and do nothing.")
    var printTable = false

    @OptionGroup var readOnlyOption: ReadOnlyOption
    var readOnly: Bool { readOnlyOption.readonly }

    @Flag(help: "Print the created mappings as JSON.")
    var json = false

    @Flag(help: "Map crypt or integrity even over a range holding a signature libblkid knows (a filesystem, LUKS header, LVM or RAID member, partition table): it becomes unreadable and the first write destroys it.")
    var force = false

    @OptionGroup var global: GlobalOptions
}

struct KeyOptions: ParsableArguments {
    @Option(name: [.customShort("d"), .long], help: "Read exactly the key bytes from FILE ('-' for standard input). Never give keys on the command line.")
    var keyFile: String?

    @Flag(help: "Use a fresh random key (throwaway test mappings).")
    var randomKey = false

    func source() throws -> KeySource {
        switch (keyFile, randomKey) {
        case (let f?, false): return .file(f)
        case (nil, true): return .random
        case (.some, true): throw ValidationError("give --key-file or --random-key, not both")
        case (nil, false): throw ValidationError("give --key-file FILE (or - for stdin) or --random-key")
        }
    }
}
