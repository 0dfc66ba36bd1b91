import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SwcryptCore
import SwcryptReports

enum Output {
    static func error(_ line: String) {
        stderr("swcrypt: \(line)\n")
    }

    static func note(_ line: String) {
        stderr("\(line)\n")
    }

    /// A warning in the kernel log at warning priority (what generators do: at boot
    /// their stderr reaches no journal); stderr when /dev/kmsg cannot be written.
    static func kernelLog(warning line: String) {
        let fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return note(line) }
        defer { close(fd) }
        write("<4>\(line)\n", to: fd)
    }

    /// A prompt on stderr without a newline (stdout stays clean for scripts).
    static func prompt(_ text: String) {
        stderr(text)
    }

    /// A whole line on stdout in one write(2) (progress lines from another thread).
    static func stdout(_ text: String) { write(text, to: STDOUT_FILENO) }

    private static func stderr(_ text: String) { write(text, to: STDERR_FILENO) }

    /// write(2), errors ignored: a closed or hung-up terminal (a dropped ssh
    /// session, `2>&1 | head`) must not stop swcrypt half-way (Foundation's
    /// FileHandle.write traps on a failed write; SIGPIPE is ignored).
    private static func write(_ text: String, to fd: Int32) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }

    static func json<T: Encodable>(_ value: T) throws {
        print(try JSONText.encode(value))
    }

    /// A command's result: its lines, or its JSON with --json.
    static func report<R: Report>(_ report: R, json: Bool) throws {
        if json { try Output.json(report.json) } else { lines(report.lines) }
    }

    static func lines(_ lines: [String]) {
        for line in lines { print(line) }
    }
}
