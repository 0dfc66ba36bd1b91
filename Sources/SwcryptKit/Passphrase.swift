import SwcryptCore
import SwcryptKeys
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Where a LUKS2 passphrase comes from. Never argv, never the environment.
public enum PassphraseSource: Sendable, Equatable {
    /// Asked on the terminal without echo (twice when `verify`).
    case terminal(verify: Bool)
    /// The whole file is the passphrase (as cryptsetup's --key-file); "-" is stdin.
    case file(String)

    /// cryptsetup's default key-file size limit.
    static let maxKeyFileBytes = 8 << 20

    public func read(device: String) throws(SwcryptError) -> SecretBytes {
        switch self {
        case .file(let path):
            let fd: Int32 = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw SwcryptError(.failure, device: path, "cannot read the key file", cause: Errno(rawValue: errno).description)
            }
            defer { if path != "-" { close(fd) } }
            var bytes = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 4096)
            defer { chunk.withUnsafeMutableBytes { explicit_bzero($0.baseAddress!, $0.count) } }
            while true {
                let n = Glibc.read(fd, &chunk, chunk.count)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SwcryptError(.failure, device: path, "cannot read the key file", cause: Errno(rawValue: errno).description)
                }
                if n == 0 { break }
                bytes += chunk[0..<n]
                if bytes.count > Self.maxKeyFileBytes {
                    throw SwcryptError(.failure, device: path, "the key file is larger than \(Self.maxKeyFileBytes) bytes")
                }
            }
            let secret = SecretBytes(bytes)
            bytes.withUnsafeMutableBytes { if let b = $0.baseAddress { explicit_bzero(b, $0.count) } }
            guard secret.count > 0 else {
                throw SwcryptError(.failure, device: path, "the key file is empty; an empty passphrase is refused")
            }
            return secret
        case .terminal(let verify):
            guard isatty(STDIN_FILENO) == 1 else {
                throw SwcryptError(.failure, device: device, "no terminal to ask for the passphrase on; use --key-file FILE (or - for stdin)")
            }
            let first = try Self.prompt("Enter passphrase for \(device): ")
            guard first.count > 0 else { throw SwcryptError(.failure, device: device, "an empty passphrase is refused") }
            if verify {
                let second = try Self.prompt("Verify passphrase: ")
                guard second.bytes == first.bytes else {
                    throw SwcryptError(.failure, device: device, "the passphrases do not match; nothing was changed")
                }
            }
            return first
        }
    }

    /// Reads one line from the terminal with echo off.
    private static func prompt(_ text: String) throws(SwcryptError) -> SecretBytes {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        let fd = tty >= 0 ? tty : STDIN_FILENO
        defer { if tty >= 0 { close(tty) } }
        _ = text.withCString { write(fd, $0, strlen($0)) }
        var old = termios()
        let haveTermios = tcgetattr(fd, &old) == 0
        if haveTermios {
            var quiet = old
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer {
            if haveTermios { tcsetattr(fd, TCSAFLUSH, &old) }
            _ = write(fd, "\n", 1)
        }
        var line = [UInt8]()
        var c: UInt8 = 0
        while Glibc.read(fd, &c, 1) == 1 && c != 10 { line.append(c) }
        let secret = SecretBytes(line)
        line.withUnsafeMutableBytes { if let b = $0.baseAddress { explicit_bzero(b, $0.count) } }
        return secret
    }
}

