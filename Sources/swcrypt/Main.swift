import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports
#if canImport(Glibc)
import Glibc
#endif

@main
struct Main {
    static func main() {
        Secrets.protectProcess()
        do {
            var command = try Swcrypt.parseAsRoot()
            try command.run()
            if Verbosity.verbose { Output.note("Command successful.") }
        } catch let error as SwcryptError {
            Output.error(error.description)
            exit(error.code.rawValue)
        } catch let code as ExitCode {
            // A command that printed its result and only sets the status (check).
            exit(code.rawValue)
        } catch {
            let code = Swcrypt.exitCode(for: error)
            if code == ArgumentParser.ExitCode.success {
                // --help, --version
                print(Swcrypt.fullMessage(for: error))
                exit(0)
            }
            // Usage errors are "wrong parameters": cryptsetup's code 1, not EX_USAGE.
            Output.error(Swcrypt.message(for: error))
            exit(ExitStatus.failure.rawValue)
        }
    }
}

struct Swcrypt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swcrypt",
        abstract: "Authenticated disk encryption on per-sector metadata (NVMe metadata formats, dm-crypt AEAD, dm-integrity).",
        discussion: """
            EXIT CODES (as cryptsetup):
              0 success
              1 wrong parameters or other error (including a refused confirmation);
                check: at least one blocking finding
              2 no permission (not root) or bad passphrase
              3 out of memory
              4 wrong device: missing, not the kind needed, or a format the kernel cannot use
              5 device busy or exists: mounted, held by a mapping, opened exclusively elsewhere
            """,
        subcommands: [Check.self, IdNs.self, NvmeFormat.self, Format.self, Open.self, Close.self, Status.self, Dump.self, Key.self, Header.self, Token.self, Clevis.self, Scrub.self, Watch.self, Crypttab.self, Attach.self, Detach.self, SystemdGenerator.self, Map.self, Unmap.self, Ls.self, TestDev.self, InlineCrypto.self])

    // Not ArgumentParser's built-in version: that is a fixed string, and this also
    // says which libcryptsetup the loader found (the package's private copy or the system's).
    @Flag(name: [.customShort("V"), .long], help: "Print swcrypt's version and the libcryptsetup it runs with.")
    var version = false

    func run() throws {
        guard version else { throw CleanExit.helpRequest(self) }
        Output.lines(VersionInfo.current().lines)
    }
}
