import SwcryptCore
import SwcryptSystem
import SwcryptKeys
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Which bytes of a key file are the passphrase (cryptsetup's --keyfile-offset and
/// --keyfile-size); by default all of them.
public struct KeyFileRange: Sendable, Equatable {
    public var offset: UInt64
    /// nil: to the end of the file.
    public var size: Int?

    public init(offset: UInt64 = 0, size: Int? = nil) {
        self.offset = offset
        self.size = size
    }
}

/// Where a LUKS2 passphrase comes from. Never argv, never the environment.
public enum PassphraseSource: Sendable, Equatable {
    /// Asked on the terminal without echo (twice when `verify`).
    case terminal(verify: Bool)
    /// Asked through systemd's password agents (`systemd-ask-password`), at boot:
    /// the console, Plymouth, or `systemd-tty-ask-password-agent` on a remote shell.
    case askPassword(id: String, prompt: String)
    /// The file is the passphrase (as cryptsetup's --key-file); "-" is stdin. All of
    /// it, or `range` (--keyfile-offset, --keyfile-size).
    case file(String, KeyFileRange = KeyFileRange())

    /// A key file when one is named, else the terminal.
    public init(file: String?, range: KeyFileRange = KeyFileRange(), verify: Bool) {
        self = file.map { .file($0, range) } ?? .terminal(verify: verify)
    }

    /// cryptsetup's default key-file size limit.
    static let maxKeyFileBytes = 8 << 20

    public func read(device: String) throws(SwcryptError) -> SecretBytes {
        switch self {
        case .file(let path, let range):
            if let size = range.size, size > Self.maxKeyFileBytes {
                throw SwcryptError(.failure, device: path, "--keyfile-size \(size) is above the \(Self.maxKeyFileBytes)-byte limit for key material (cryptsetup's default limit; swcrypt keeps key material in locked memory)")
            }
            let limit = range.size ?? Self.maxKeyFileBytes + 1
            let secret = try readKeyFile(path, skipping: range.offset, atMost: limit)
            if let size = range.size, secret.count < size {
                throw SwcryptError(.failure, device: path, "the key file has \(secret.count) bytes after offset \(range.offset), fewer than --keyfile-size \(size)")
            }
            if secret.count > Self.maxKeyFileBytes {
                throw SwcryptError(.failure, device: path, "the key file is larger than \(Self.maxKeyFileBytes) bytes")
            }
            guard secret.count > 0 else {
                throw SwcryptError(.failure, device: path, "the key file is empty; an empty passphrase is refused")
            }
            return secret
        case .askPassword(let id, let prompt):
            return try Self.askPassword(id: id, prompt: prompt, device: device)
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

    /// Reads the passphrase and gives it to `attempt`; when that fails with exit 2
    /// (a wrong passphrase) and the passphrase came from the terminal, asks again, up
    /// to `tries` times in all (cryptsetup's --tries). A key file is read once.
    public func withTries(_ tries: Int, device: String, _ attempt: (SecretBytes) throws(SwcryptError) -> Void) throws(SwcryptError) {
        var left = max(1, tries)
        while true {
            let secret = try read(device: device)
            defer { secret.wipe() }
            do {
                try attempt(secret)
                return
            } catch where error.code == .permission && error.errno == .notPermitted {
                left -= 1
                guard left > 0 else { throw error }
                switch self {
                case .terminal, .askPassword: break
                case .file: throw error
                }
                Diagnostics.shared.log(.warning, "open", "No key available with this passphrase.")
            }
        }
    }

    /// Runs systemd-ask-password and reads the passphrase from its stdout (a pipe,
    /// straight into the secret's pages). Its exit status says whether it answered.
    private static func askPassword(id: String, prompt: String, device: String) throws(SwcryptError) -> SecretBytes {
        guard let program = SecretPipe.find(["/usr/bin/systemd-ask-password", "/bin/systemd-ask-password"]) else {
            throw SwcryptError(.failure, device: device, "no systemd-ask-password to ask for the passphrase with; give a key file")
        }
        let asked = try SecretPipe(program: program, arguments: ["--id=\(id)", "--timeout=0", "--accept-cached", prompt])
            .run(device: device)
        guard asked.status == 0 else {
            throw SwcryptError(.failure, device: device, "no passphrase: systemd-ask-password gave none (cancelled or timed out)")
        }
        // One line: the trailing newline is not part of the passphrase.
        let secret = asked.output
        secret.dropTrailingNewline()
        guard secret.count > 0 else { throw SwcryptError(.failure, device: device, "an empty passphrase is refused") }
        return secret
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
func readKeyFile(_ path: String, skipping offset: UInt64 = 0, atMost: Int) throws(SwcryptError) -> SecretBytes {
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
    // The skipped bytes are read (stdin cannot seek) into a secret buffer too, and wiped.
    var skipped: UInt64 = 0
    let discard = SecretBytes(capacity: 4096)
    while skipped < offset {
        discard.wipe()
        let n = discard.read(from: fd, limit: Int(min(4096, offset - skipped)))
        if n < 0 {
            if errno == EINTR { continue }
            throw SwcryptError(.failure, device: path, "cannot read the key file", errno: Errno(rawValue: errno))
        }
        if n == 0 {
            throw SwcryptError(.failure, device: path, "the key file is shorter than --keyfile-offset \(offset)")
        }
        skipped += UInt64(n)
    }
    discard.wipe()
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

/// `swcrypt open`: what to open, as what, with which passphrase.
public struct OpenRequest: Sendable {
    public var path: String
    /// nil: only test the passphrase (`--test-passphrase`), activate nothing.
    public var name: String?
    public var passphrase: PassphraseSource
    public var readOnly = false
    public var performance = PerformanceFlags()
    public var allowDiscards = false
    /// Try only this keyslot (--key-slot).
    public var slot: Int?
    /// Passphrase attempts on a terminal (--tries).
    public var tries = 1
    /// Whether LUKS2 tokens are tried first (auto), only, or never.
    public var tokens = TokenUse.auto
    /// Restrict token unlock to this token (--token-id) or type (--token-type).
    public var tokenID: Int?
    public var tokenType: String?
    /// Seconds a token may take (a clevis token's `clevis decrypt`, which asks a tang
    /// server or the TPM2); systemd-cryptsetup's token-timeout=, 30 s by default.
    public var tokenTimeout: Double = 30

    public enum TokenUse: Sendable {
        case auto, only, never
    }

    public init(path: String, name: String?, passphrase: PassphraseSource) {
        self.path = path
        self.name = name
        self.passphrase = passphrase
    }
}
