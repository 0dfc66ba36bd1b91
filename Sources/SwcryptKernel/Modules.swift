import SwcryptCore
#if canImport(Glibc)
import Glibc
#endif

/// Loading kernel modules on demand (modprobe resolves dependencies and aliases;
/// its output is not read, only whether the module is there afterwards).
public enum Modules {
    @discardableResult
    public static func load(_ name: String, sysRoot: String = "/sys") -> Bool {
        if access("\(sysRoot)/module/\(name)", F_OK) == 0 { return true }
        var pid: pid_t = 0
        let args = ["/sbin/modprobe", "-q", name]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        guard posix_spawn(&pid, args[0], &actions, nil, &argv, environ) == 0 else { return false }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return access("\(sysRoot)/module/\(name)", F_OK) == 0
    }

    /// /sys/module/NAME exists: loaded, or built in with parameters.
    public static func isPresent(_ name: String, sysRoot: String = "/sys") -> Bool {
        Files.exists("\(sysRoot)/module/\(name)")
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
    public static func state(of name: String, sysRoot: String = "/sys", modulesDirectory: String) -> ModuleFact.State {
        let sys = "\(sysRoot)/module/\(name)"
        if Files.exists(sys) {
            return Files.exists("\(sys)/initstate") ? .loaded : .builtIn
        }
        let builtin = Files.readText("\(modulesDirectory)/modules.builtin")
        let dep = Files.readText("\(modulesDirectory)/modules.dep")
        if let builtin, moduleNames(builtin).contains(name) { return .builtIn }
        if let dep {
            // modules.dep: "kernel/drivers/md/dm-crypt.ko.xz: kernel/drivers/md/dm-bufio.ko.xz"
            let targets = dep.split(separator: "\n").compactMap { $0.split(separator: ":", maxSplits: 1).first.map(String.init) }
            return moduleNames(targets.joined(separator: "\n")).contains(name) ? .loadable : .missing
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
