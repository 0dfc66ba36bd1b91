import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Checker: will authenticated encryption work on this kernel (and on DEV), and if not, why.",
        discussion: """
            Writes nothing. Looks at: the kernel release and the modules swcrypt needs (dm_mod, dm_crypt, \
            dm_integrity, aegis128, gcm, chacha20poly1305, authenc: loaded, built in, loadable or missing); \
            the device-mapper driver and the crypt and integrity target versions with what they allow (inline \
            tags in device metadata and dm-integrity Inline mode need Linux 6.11); which AEADs the kernel \
            crypto API really has (AF_ALG), with a quick single-thread figure in MiB/s for 4 KiB sectors; \
            libcryptsetup's version (LUKS2 inline HW tags need 2.8); and for DEV its type, block sizes, size, \
            integrity profile and free metadata bytes, which tags fit, mounts and holders, the LBA formats an \
            NVMe namespace could be reformatted to, and what `swcrypt format` would build on it.

            Target versions are only listed for loaded targets, so as root check loads dm_crypt and \
            dm_integrity (as cryptsetup does); the AF_ALG probes load crypto modules on demand. Without root \
            the device-mapper versions are unknown: a warning, not an error.

            Each finding is ok, warning or blocking, with one line of advice.

            EXIT STATUS: 0 nothing blocking; 1 at least one blocking finding; 4 DEV missing or not a block device.
            """)

    @Argument(help: "Block device to check as well, e.g. /dev/nvme0n1.")
    var device: String?

    @Flag(help: "Print JSON: findings (area, item, status, detail, advice), summary counts and the facts.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let report = try Checker().run(device: device)
        try Output.report(report, json: json)
        if report.hasBlocking { throw ExitCode(report.exitStatus.rawValue) }
    }
}
