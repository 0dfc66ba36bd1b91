import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

extension TestDeviceKind: ExpressibleByArgument {}

struct TestDev: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "testdev",
        abstract: "Create, list and remove throwaway block devices for tests and CI (null_blk, loop, scsi_debug).",
        discussion: """
            swcrypt only lists and removes devices it created: null_blk disks named swcrypt-nb<N>, loop
            devices backed by a sparse file in \(TestDevices.defaultStateDirectory), and the scsi_debug disk
            it recorded there (scsi_debug makes one set of disks per module load: one at a time).
            """,
        subcommands: [Create.self, Remove.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a test device and print it.",
            discussion: """
                null-blk: memory-backed null_blk through configfs. loop: a sparse file in \(TestDevices.defaultStateDirectory),
                attached with direct I/O (the kernel falls back to buffered I/O if the file cannot do it; see --json
                "direct_io"). scsi-debug: scsi_debug with T10 DIF type 1 (integrity profile T10-DIF-TYPE1-CRC).
                """)

        @Argument(help: "null-blk, loop or scsi-debug.")
        var kind: TestDeviceKind

        @Option(help: "Size in MiB.")
        var size: Int = 64

        @Option(help: "Logical block size: 512 or 4096.")
        var blockSize: Int = 4096

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var global: GlobalOptions

        func run() throws {
            global.apply()
            let device = try TestDevices().create(TestDeviceRequest(kind: kind, sizeMiB: size, blockSize: blockSize))
            if json {
                try Output.json(TestDeviceReport(device))
            } else {
                print(device.device)
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a test device swcrypt created (refuses anything else, and devices in use).")

        @Argument(help: "The device, e.g. /dev/swcrypt-nb0 or /dev/loop3.")
        var device: String

        @OptionGroup var global: GlobalOptions

        func run() throws {
            global.apply()
            let removed = try TestDevices().remove(device)
            print("removed \(removed.device)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List the test devices swcrypt created.")

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var global: GlobalOptions

        func run() throws {
            global.apply()
            let devices = TestDevices().list()
            try Output.report(TestDeviceListReport(devices), json: json)
        }
    }
}
