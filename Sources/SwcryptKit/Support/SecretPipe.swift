import SwcryptCore
import SwcryptKeys
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A helper program that takes or gives a secret through pipes:
/// systemd-ask-password (gives a passphrase), `clevis encrypt` (takes one) and
/// `clevis decrypt` (gives one back). No shell; the secret never passes through
/// argv or the environment; what the program writes to stdout lands straight in a
/// secret's locked, undumpable pages.
struct SecretPipe {
    var program: String
    var arguments: [String]
    /// Written to the program's stdin, which is then closed; nil: stdin is inherited
    /// (a program that asks on the terminal).
    var input: SecretBytes?
    /// Seconds before the program and everything it started (its own process
    /// group) are killed; nil: no limit and the caller's process group, so that a
    /// program may ask on the terminal (clevis's "Do you wish to trust these keys?").
    var timeout: Double?
    /// Its stderr is collected (for the one line that names the cause) instead of shown.
    var captureErrors = false

    struct Outcome {
        /// What it wrote to stdout.
        var output: SecretBytes
        /// Its exit status; 128+N when killed by signal N.
        var status: Int32
        var timedOut: Bool
        /// The last line it wrote to stderr (when captured).
        var lastErrorLine: String?
    }

    /// The first of `candidates` that is executable.
    static func find(_ candidates: [String]) -> String? {
        candidates.first { access($0, X_OK) == 0 }
    }

    func run(device: String) throws(SwcryptError) -> Outcome {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [-1, -1], inPipe: [Int32] = [-1, -1]
        guard Self.pipeClosedOnExec(&outPipe),
              !captureErrors || Self.pipeClosedOnExec(&errPipe),
              input == nil || Self.pipeClosedOnExec(&inPipe) else {
            throw SwcryptError(.failure, device: device, "cannot run \(program)", errno: Errno(rawValue: errno))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], STDOUT_FILENO)
        if captureErrors { posix_spawn_file_actions_adddup2(&actions, errPipe[1], STDERR_FILENO) }
        if input != nil { posix_spawn_file_actions_adddup2(&actions, inPipe[0], STDIN_FILENO) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if timeout != nil {
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        let argv = ([program] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, program, &actions, &attributes, argv + [nil], environ)
        for fd in [outPipe[1], errPipe[1], inPipe[0]] where fd >= 0 { close(fd) }
        defer { for fd in [outPipe[0], errPipe[0]] where fd >= 0 { close(fd) } }
        guard rc == 0 else {
            if inPipe[1] >= 0 { close(inPipe[1]) }
            throw SwcryptError(.failure, device: device, "cannot run \(program)", errno: Errno(rawValue: rc))
        }
        // The inputs here (a passphrase, a JWE) fit in a pipe's buffer; the program
        // reads all of its input before it writes (SIGPIPE is ignored: a program
        // that exits early gives EPIPE here, and its status says why).
        if let input, inPipe[1] >= 0 {
            input.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = write(inPipe[1], raw.baseAddress! + done, raw.count - done)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    done += n
                }
            }
            close(inPipe[1])
        }
        let output = SecretBytes(capacity: 4096)
        var errors = [UInt8]()
        var open = [outPipe[0]] + (captureErrors ? [errPipe[0]] : [])
        let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int($0 * 1000)) }
        var timedOut = false
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let wait = deadline.map { Int32(max(0, ($0 - ContinuousClock.now).inSeconds * 1000)) } ?? -1
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 && errno == EINTR { continue }
            if ready < 0 { break }   // (poll itself failed: stop reading; the status still says how it ended)
            if ready == 0 {
                timedOut = true
                kill(-pid, SIGTERM)
                usleep(200_000)
                kill(-pid, SIGKILL)
                break
            }
            for f in fds where f.revents != 0 {
                var n: Int
                if f.fd == outPipe[0] {
                    n = output.read(from: f.fd, limit: 4096)
                } else {
                    var chunk = [UInt8](repeating: 0, count: 4096)
                    n = read(f.fd, &chunk, chunk.count)
                    if n > 0 { errors += chunk.prefix(n) }
                }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { open.removeAll { $0 == f.fd } }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        if code != 0 { output.wipe() }
        let lastLine = String(decoding: errors, as: UTF8.self).split(separator: "\n").last.map(String.init)
        return Outcome(output: output, status: code, timedOut: timedOut, lastErrorLine: lastLine)
    }

    /// pipe(2), both ends close-on-exec (the child gets only its dup2'd copies, so it
    /// sees end-of-file on stdin once the input is written).
    private static func pipeClosedOnExec(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }
}
