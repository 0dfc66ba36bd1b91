import SwcryptCore
import SwcryptSystem
#if canImport(Glibc)
import Glibc
#endif

/// /etc/swcrypttab at boot: the systemd generator that turns it into units, and
/// `attach`/`detach`, which those units run (as systemd-cryptsetup's).
public struct BootVolumes: Sendable {
    var tabPath = "/etc/swcrypttab"
    var cmdlinePath = "/proc/cmdline"

    public init() {}

    /// The table; a missing file is an empty one.
    public func table() -> SwcryptTab {
        SwcryptTab(parsing: Files.readText(tabPath) ?? "", file: tabPath)
    }

    /// Writes the units for every line into `directory` (the generator's normal
    /// output directory). Returns the table's warnings; writes nothing when the
    /// kernel command line says `luks=no` (or `rd.luks=no` in an initrd).
    public func generate(into directory: String) throws(SwcryptError) -> [String] {
        let initrd = access("/etc/initrd-release", F_OK) == 0
        guard BootCommandLine.volumesEnabled(Files.readText(cmdlinePath) ?? "", initrd: initrd) else {
            return ["luks=no on the kernel command line: no swcrypt volume is opened at boot"]
        }
        let tab = table()
        for file in SystemdUnits.files(for: tab, source: tabPath) {
            let path = "\(directory)/\(file.path)"
            if let slash = path.lastIndex(of: "/") { try Files.makeDirectories(String(path[..<slash])) }
            switch file.content {
            case .text(let text):
                try Files.write(path, text)
            case .symlink(let target):
                unlink(path)
                guard symlink(target, path) == 0 else { throw SwcryptError.last("symlink", path) }
            }
        }
        return tab.warnings
    }

    /// `attach NAME SOURCE KEY-FILE OPTIONS`: what a generated unit runs. Opens the
    /// volume as the line says, asking through systemd's password agents when there
    /// is no key file.
    public func attach(name: String, source: String, keyFile: String?, options text: String) throws(SwcryptError) -> [String] {
        let line = "\(name) \(source) \(keyFile ?? "none") \(text.isEmpty ? "-" : text)"
        let tab = SwcryptTab(parsing: line, file: "attach")
        guard let e = tab.entries.first else {
            throw SwcryptError(.failure, device: name, tab.warnings.first ?? "cannot read the line '\(line)'")
        }
        let warnings = tab.warnings
        let passphrase: PassphraseSource = e.keyFile.map {
            .file($0, KeyFileRange(offset: e.options.keyfileOffset ?? 0, size: e.options.keyfileSize))
        } ?? .askPassword(id: "swcrypt:\(e.name)", prompt: "Please enter passphrase for disk \(e.name) (\(e.source)):")
        var r = OpenRequest(path: e.sourcePath, name: e.name, passphrase: passphrase)
        r.readOnly = e.options.readOnly
        r.slot = e.options.keySlot
        // crypttab's tries=0 means "ask until it works"; swcrypt caps that at a large number.
        r.tries = e.options.tries.map { $0 == 0 ? 1000 : $0 } ?? 3
        // Tokens first as open does; `clevis` keeps to the clevis tokens (tang, TPM2).
        if e.options.clevis { r.tokenType = ClevisToken.type }
        if let t = e.options.tokenTimeout { r.tokenTimeout = t }
        let (_, openWarnings) = try VolumeManager().open(r)
        return warnings + openWarnings
    }
}
