import ArgumentParser
import SwcryptCore
import SwcryptKit

struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open a volume from a swcrypttab line's fields (what the units of /etc/swcrypttab run at boot, as systemd-cryptsetup attach).",
        discussion: "KEY-FILE none or - asks through systemd-ask-password. OPTIONS are the line's comma-separated options (- for none).")
    @Argument(help: "Mapping name.") var name: String
    @Argument(help: "Device: a path, UUID=, PARTUUID=, LABEL= or PARTLABEL=.") var source: String
    @Argument(help: "Key file, or none.") var keyFile: String = "none"
    @Argument(help: "Options, comma-separated.") var options: String = "-"
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let warnings = try BootVolumes().attach(name: name, source: source,
                                                keyFile: ["none", "-", ""].contains(keyFile) ? nil : keyFile,
                                                options: options == "-" ? "" : options)
        for w in warnings { Output.note("warning: \(w)") }
    }
}

struct Detach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Close a volume opened by attach (what the units run at shutdown; the same as close).")
    @Argument(help: "Mapping name.") var name: String
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        try VolumeManager().close(name: name)
    }
}

struct SystemdGenerator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "systemd-generator",
        abstract: "Write the units for /etc/swcrypttab (run by systemd as /usr/lib/systemd/system-generators/swcrypt-generator).",
        discussion: "Honours luks= on the kernel command line (rd.luks= in an initrd) as systemd-cryptsetup-generator does: luks=no opens nothing. Warnings (unknown options, bad lines) go to the kernel log (/dev/kmsg), as systemd's generators log, so that the journal has them; to stderr when that cannot be written.")
    @Argument(help: "The generator's normal output directory.") var normalDirectory: String
    @Argument(help: "Early output directory (unused).") var earlyDirectory: String?
    @Argument(help: "Late output directory (unused).") var lateDirectory: String?

    func run() throws {
        for w in try BootVolumes().generate(into: normalDirectory) { Output.kernelLog(warning: "swcrypt-generator: \(w)") }
    }
}
