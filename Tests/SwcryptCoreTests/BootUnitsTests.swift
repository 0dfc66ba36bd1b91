import Foundation
import XCTest
@testable import SwcryptCore

/// /etc/swcrypttab parsing and the units the generator writes: golden files of the
/// units, unit-name escaping against systemd-escape itself, and `luks=` handling.
final class BootUnitsTests: XCTestCase {
    static let table = """
        # name   source                                         key file              options
        home     UUID=0F2C6C7E-5D1B-4B51-9F1E-2F6A1C0B9D11     /etc/swcrypt/home.key  nofail,tries=2,keyfile-size=64,keyfile-offset=16
        backup   /dev/nvme0n2                                   none                   _netdev,x-systemd.device-timeout=30s,readonly
        spare    PARTLABEL=spare                                -                      noauto,key-slot=1,luks,bogus,tries=x
        broken   /dev/sdz
        home     /dev/sdy                                       none
        bad/name /dev/sdx                                       none
        """

    func testParse() throws {
        let tab = SwcryptTab(parsing: Self.table)
        XCTAssertEqual(tab.entries.map(\.name), ["home", "backup", "spare", "broken"])
        XCTAssertEqual(tab.entries[0].sourcePath, "/dev/disk/by-uuid/0f2c6c7e-5d1b-4b51-9f1e-2f6a1c0b9d11")
        XCTAssertEqual(tab.entries[0].keyFile, "/etc/swcrypt/home.key")
        XCTAssertEqual(tab.entries[0].options.tries, 2)
        XCTAssertEqual(tab.entries[0].options.keyfileOffset, 16)
        XCTAssertTrue(tab.entries[1].options.network && tab.entries[1].options.readOnly)
        XCTAssertNil(tab.entries[1].keyFile)
        XCTAssertEqual(tab.entries[2].sourcePath, "/dev/disk/by-partlabel/spare")
        XCTAssertEqual(tab.entries[2].options.keySlot, 1)
        XCTAssertNil(tab.entries[3].keyFile, "a line without a key file asks")
        XCTAssertEqual(tab.warnings, [
            "/etc/swcrypttab:4: unknown option 'bogus' ignored",
            "/etc/swcrypttab:4: bad value in 'tries=x' ignored",
            "/etc/swcrypttab:7: ignored: bad mapping name: contains '/'",
            "/etc/swcrypttab:6: the name home is used by an earlier line too; the first one is used",
        ])
    }

    func testUnitsGolden() throws {
        var text = ""
        for file in SystemdUnits.files(for: SwcryptTab(parsing: Self.table)) {
            switch file.content {
            case .text(let t): text += "=== \(file.path)\n\(t)"
            case .symlink(let target): text += "=== \(file.path) -> \(target)\n"
            }
        }
        try assertGolden("swcrypttab-units.txt", text)
    }

    /// Our escaping against systemd's own (`systemd-escape` on the build machine).
    func testEscapingMatchesSystemd() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-escape") else {
            throw XCTSkip("skipped, because this machine has no /usr/bin/systemd-escape to compare with")
        }
        func systemd(_ args: [String]) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-escape")
            p.arguments = args
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            p.waitUntilExit()
            return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .newlines)
        }
        for path in ["/dev/disk/by-uuid/0f2c6c7e-5d1b-4b51-9f1e-2f6a1c0b9d11", "/dev/mapper/vol-x", "/dev/nvme0n1",
                     "/dev/disk/by-partlabel/my disk", "//dev//sda/"] {
            XCTAssertEqual(SystemdUnits.unitEscape(path: path), try systemd(["--path", path]), path)
        }
        for name in ["vol.1-a b", "home", ".hidden", "ü"] {
            XCTAssertEqual(SystemdUnits.unitEscape(name), try systemd([name]), name)
        }
    }

    func testKernelCommandLine() {
        XCTAssertTrue(BootCommandLine.volumesEnabled("BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet"))
        XCTAssertFalse(BootCommandLine.volumesEnabled("root=/dev/sda1 luks=no"))
        XCTAssertTrue(BootCommandLine.volumesEnabled("luks=no systemd.mask=getty@ luks=yes init=/bin/sh"), "the last one wins")
        XCTAssertTrue(BootCommandLine.volumesEnabled("rd.luks=no"), "rd.luks= is for the initrd only")
        XCTAssertFalse(BootCommandLine.volumesEnabled("rd.luks=0", initrd: true))
    }
}
