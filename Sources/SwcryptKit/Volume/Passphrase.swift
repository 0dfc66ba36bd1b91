import SwcryptCore
import SwcryptSystem
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
            let secret = try readKeyFile(path, atMost: Self.maxKeyFileBytes + 1)
            if secret.count > Self.maxKeyFileBytes {
                throw SwcryptError(.failure, device: path, "the key file is larger than \(Self.maxKeyFileBytes) bytes")
            }
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
                guard second.matches(first) else {
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
        let echoOff = Privileges.echoOff(fd)
        defer {
            if echoOff { Privileges.echoRestore() }
            _ = write(fd, "\n", 1)
        }
        let secret = SecretBytes(capacity: 256)
        var c: UInt8 = 0
        while Glibc.read(fd, &c, 1) == 1 && c != 10 { secret.append(c) }
        c = 0
        return secret
    }
}

/// Reads a key file ("-" is stdin) up to `atMost` bytes, straight into a
/// secret's locked, undumpable pages: no other copy is made on the way in.
func readKeyFile(_ path: String, atMost: Int) throws(SwcryptError) -> SecretBytes {
    let fd: Int32 = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        throw SwcryptError(.failure, device: path, "cannot read the key file", errno: Errno(rawValue: errno))
    }
    defer { if path != "-" { close(fd) } }
    if path != "-" {
        // As cryptsetup: key material comes from a file, a FIFO or a device, never
        // a terminal (that is what leaving out --key-file is for).
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw SwcryptError(.failure, device: path, "cannot read the key file", errno: Errno(rawValue: errno))
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            throw SwcryptError(.failure, device: path, "cannot read the key file: it is a directory")
        case S_IFSOCK:
            throw SwcryptError(.failure, device: path, "cannot read the key file: it is a socket")
        case S_IFCHR where isatty(fd) == 1:
            throw SwcryptError(.failure, device: path, "refusing to read a key file from a terminal; leave out --key-file to be asked for the passphrase")
        case S_IFREG where st.st_mode & 0o004 != 0:
            Diagnostics.shared.log(.warning, "key file", "\(path) is readable by every user (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 it")
        default:
            break
        }
    }
    let secret = SecretBytes(capacity: min(atMost, 4096))
    while secret.count < atMost {
        let n = secret.read(from: fd, limit: min(4096, atMost - secret.count))
        if n < 0 {
            if errno == EINTR { continue }
            throw SwcryptError(.failure, device: path, "cannot read the key file", errno: Errno(rawValue: errno))
        }
        if n == 0 { break }
    }
    return secret
}
