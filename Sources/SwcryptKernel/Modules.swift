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
}
