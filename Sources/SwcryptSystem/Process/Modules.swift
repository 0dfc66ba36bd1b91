import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Kernel modules: loaded and unloaded by running modprobe (it resolves
/// dependencies, aliases and module paths; its output is not read, only its exit
/// status and whether /sys/module/NAME is there afterwards), and their state from
/// the module lists. The one place swcrypt runs modprobe.
public struct Modules: Sendable {
    public var sysfsRoot: String

    public init(sysfsRoot: String = "/sys") {
        self.sysfsRoot = sysfsRoot
    }

    /// /sys/module/NAME exists: loaded, or built in with parameters (null_blk, loop
    /// and scsi_debug all have them).
    public func isLoaded(_ name: String) -> Bool {
        Files.exists("\(sysfsRoot)/module/\(name)")
    }

    /// Loads a module with parameters; modprobe's complaint goes to stderr.
    public func load(_ name: String, _ parameters: [String] = []) throws(SwcryptError) {
        try run(Self.modprobe, ["-q", name] + parameters)
    }

    /// Loads a module the kernel may or may not have (crypto and device-mapper
    /// targets loaded on demand): quietly; true when it is there afterwards.
    @discardableResult
    public func loadIfAvailable(_ name: String) -> Bool {
        if isLoaded(name) { return true }
        try? run(Self.modprobe, ["-q", name], quiet: true)
        return isLoaded(name)
    }

    public func unload(_ name: String) throws(SwcryptError) {
        try run(Self.modprobe, ["-r", "-q", name])
    }

    static var modprobe: String {
        ["/usr/sbin/modprobe", "/sbin/modprobe"].first { access($0, X_OK) == 0 } ?? "/sbin/modprobe"
    }

    /// Where the module lists of a kernel release are ("/lib/modules/<release>").
    public static func directory(release: String, root: String = "") -> String {
        "\(root)/lib/modules/\(release)"
    }

    /// Whether a module is loaded, built in, loadable or missing. `name` uses
    /// underscores as /sys/module does ("dm_crypt"); the lists' file names
    /// ("kernel/drivers/md/dm-crypt.ko.xz") are compared with '-' read as '_'.
    /// A module with /sys/module/NAME/initstate is loaded; /sys/module/NAME without
    /// it is built in (built-in modules show up there when they have parameters).
    public func state(of name: String, modulesDirectory: String) -> ModuleFact.State {
        let sys = "\(sysfsRoot)/module/\(name)"
        if Files.exists(sys) {
            return Files.exists("\(sys)/initstate") ? .loaded : .builtIn
        }
        let builtin = Files.readText("\(modulesDirectory)/modules.builtin")
        let dep = Files.readText("\(modulesDirectory)/modules.dep")
        if let builtin, Self.moduleNames(builtin).contains(name) { return .builtIn }
        if let dep {
            // modules.dep: "kernel/drivers/md/dm-crypt.ko.xz: kernel/drivers/md/dm-bufio.ko.xz"
            let targets = dep.split(separator: "\n").compactMap { $0.split(separator: ":", maxSplits: 1).first.map(String.init) }
            return Self.moduleNames(targets.joined(separator: "\n")).contains(name) ? .loadable : .missing
        }
        return .unknown
    }

    /// Module names of a list of module paths, one per line.
    static func moduleNames(_ list: String) -> Set<String> {
        var names = Set<String>()
        for line in list.split(separator: "\n") {
            // "dm-crypt.ko", "dm-crypt.ko.xz", "dm-crypt.ko.zst": module names hold no '.'.
            let parts = (line.split(separator: "/").last ?? "").split(separator: ".")
            guard parts.count >= 2, parts[1] == "ko" else { continue }
            names.insert(String(parts[0].map { $0 == "-" ? "_" : $0 }))
        }
        return names
    }
}
