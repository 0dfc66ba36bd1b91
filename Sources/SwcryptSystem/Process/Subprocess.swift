import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program without a shell and waits for it; stdout/stderr are inherited,
/// or sent to /dev/null when `quiet`. Its output is never parsed, only its status.
func run(_ program: String, _ arguments: [String], quiet: Bool = false) throws(SwcryptError) {
    let argv = ([program] + arguments).map { strdup($0) }
    defer { argv.forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if quiet {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    }
    var pid = pid_t()
    let rc = posix_spawn(&pid, program, &actions, nil, argv + [nil], environ)
    let command = ([program] + arguments).joined(separator: " ")
    guard rc == 0 else { throw SwcryptError(operation: "posix_spawn", device: program, errno: Errno(rawValue: rc)) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard Glibc.errno == EINTR else { throw SwcryptError.last("waitpid", program) }
    }
    // WIFEXITED/WEXITSTATUS are macros: exited normally when the low 7 bits are 0.
    let exited = status & 0x7f == 0
    let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    guard code == 0 else { throw SwcryptError(.failure, device: program, "\(command) exited with status \(code)") }
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass.
public func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    var waited = 0.0
    while !condition() {
        if waited >= seconds { return false }
        usleep(50_000)
        waited += 0.05
    }
    return true
}
