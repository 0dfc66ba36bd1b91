import Foundation
import XCTest

/// An interrupted format (issue 13.4): Ctrl-C, a dropped terminal and SIGKILL
/// during the initialisation, and Ctrl-C at the passphrase prompt (issue 13.9:
/// echo restored). Checked through dmsetup, cryptsetup 2.8's luksDump and the
/// terminal's own settings (stty).
final class InterruptIntegrationTests: XCTestCase {
    var dir = ""
    var cryptsetup = ""
    /// Slow initialisation: 4 KiB writes, one in flight, through dm-integrity's
    /// journal, so the signal arrives while it runs.
    let slow = ["--batch-mode", "--init-block-kib", "4", "--init-queue-depth", "1",
                "--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32"]

    override func setUpWithError() throws {
        try VM.require()
        cryptsetup = try VM.referenceCryptsetup()
        try VM.loadModules("dm-crypt", "dm-integrity", "aegis128", "gcm")
        dir = try VM.tempDir()
        try "pass-\(UUID().uuidString)".write(toFile: "\(dir)/pass", atomically: true, encoding: .utf8)
    }

    func initMappings() throws -> [String] {
        try dmNames().filter { $0.hasPrefix("swcrypt-init-") }.sorted()
    }

    /// Waits until an init mapping exists (the wipe is running); false after 60 s.
    func waitForInit() throws -> Bool {
        for _ in 0..<600 {
            if try !initMappings().isEmpty { return true }
            usleep(100_000)
        }
        return false
    }

    func subsystem(_ device: String) throws -> String {
        let dump = try must([cryptsetup, "luksDump", device]).stdout
        return dump.split(separator: "\n").first { $0.hasPrefix("Subsystem:") }.map {
            $0.dropFirst("Subsystem:".count).trimmingCharacters(in: .whitespaces)
        } ?? ""
    }

    /// A format with the slow initialisation, running in the background.
    func startSlowFormat(_ nb: NullBlk, stderr: Any) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: VM.swcrypt)
        p.arguments = ["format", nb.path, "--key-file", "\(dir)/pass"] + slow
        p.standardError = stderr
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }

    func testCtrlCDuringInitialisationCleansUp() throws {
        let nb = try NullBlk.create("ir-int", sizeMB: 128)
        defer { nb.remove() }
        let err = Pipe()
        let p = try startSlowFormat(nb, stderr: err)
        XCTAssertTrue(try waitForInit(), "the initialisation never started")
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 1, text)
        XCTAssertTrue(text.contains("interrupted"), text)
        XCTAssertEqual(text.split(separator: "\n").count, 1, text)
        XCTAssertEqual(try initMappings(), [], "the init mapping (with the volume key) was left behind")
        XCTAssertEqual(try subsystem(nb.path), "swcrypt:uninitialised")
    }

    /// An ssh session that drops: the terminal hangs up (SIGHUP) and every later
    /// write to it fails. The format must stop and clean up, not die half-way.
    func testDroppedTerminalCleansUp() throws {
        let nb = try NullBlk.create("ir-hup", sizeMB: 128)
        defer { nb.remove() }
        let command = ([VM.swcrypt, "format", nb.path, "--key-file", "\(dir)/pass"] + slow).joined(separator: " ")
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        script.arguments = ["-qefc", command, "/dev/null"]
        script.standardInput = Pipe()
        script.standardOutput = FileHandle.nullDevice
        script.standardError = FileHandle.nullDevice
        try script.run()
        XCTAssertTrue(try waitForInit(), "the initialisation never started")
        kill(script.processIdentifier, SIGKILL)   // the terminal's other end is gone
        script.waitUntilExit()
        var waited = 0
        // The bracket keeps pgrep from matching the shell that runs it.
        let pattern = "format \(nb.path.dropLast())[\(nb.path.suffix(1))]"
        while try sh("pgrep -f '\(pattern)'").status == 0 && waited < 600 { usleep(100_000); waited += 1 }
        XCTAssertLessThan(waited, 600, "swcrypt did not end within 60 s of the hang-up")
        XCTAssertEqual(try initMappings(), [], "the init mapping (with the volume key) was left behind")
        XCTAssertEqual(try subsystem(nb.path), "swcrypt:uninitialised")
    }

    /// SIGKILL cannot be handled: the init mapping stays. The next format of the
    /// device removes it, says so, and succeeds (it used to be refused as busy).
    func testStaleInitMappingIsRemovedByTheNextFormat() throws {
        let nb = try NullBlk.create("ir-kill", sizeMB: 128)
        defer { nb.remove() }
        let p = try startSlowFormat(nb, stderr: FileHandle.nullDevice)
        XCTAssertTrue(try waitForInit(), "the initialisation never started")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // On a device without metadata the init mapping has a dm-integrity layer beneath
        // (NAME_dif), made first: a kill between the two leaves that layer alone, which
        // the next format must remove too.
        let left = try initMappings()
        guard let first = left.first else {
            return XCTFail("SIGKILL left no init mapping: the test proves nothing")
        }
        let stale = first.hasSuffix("_dif") ? String(first.dropLast(4)) : first
        let again = try execute([VM.swcrypt, "format", nb.path, "--key-file", "\(dir)/pass", "--batch-mode",
                                 "--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32"])
        XCTAssertEqual(again.status, 0, "left behind: \(left); \(again.stderr)")
        XCTAssertTrue(again.stderr.contains(stale) && again.stderr.contains("removes it"), again.stderr)
        XCTAssertEqual(try initMappings(), [])
        XCTAssertNotEqual(try subsystem(nb.path), "swcrypt:uninitialised")
    }

    /// Ctrl-C at the passphrase prompt leaves the terminal echoing (issue 13.9).
    func testCtrlCAtThePromptRestoresEcho() throws {
        let nb = try NullBlk.create("ir-echo", sizeMB: 32)
        defer { nb.remove() }
        let f = try execute([VM.swcrypt, "format", nb.path, "--key-file", "\(dir)/pass", "--batch-mode", "--no-wipe",
                             "--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32"])
        XCTAssertEqual(f.status, 0, f.stderr)
        // bash ignores SIGINT itself (so it lives to run stty); swcrypt installs its own handler.
        try "trap '' INT\n\(VM.swcrypt) open \(nb.path) ir-echo\necho rc=$?\nstty -a\n"
            .write(toFile: "\(dir)/prompt.sh", atomically: true, encoding: .utf8)
        let r = try sh("""
            \(shWaitUntilReading)
            (wait_until_reading open; printf '\\003'; sleep 3) | timeout 60 script -qefc 'bash \(dir)/prompt.sh' /dev/null
            """)
        XCTAssertTrue(r.stdout.contains("Enter passphrase"), r.stdout)
        XCTAssertTrue(r.stdout.contains("rc=130"), "swcrypt did not end on Ctrl-C: \(r.stdout)")
        let settings = r.stdout.split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "\n" || $0 == "\r" })
        XCTAssertTrue(settings.contains("echo"), "echo is off after Ctrl-C at the prompt: \(r.stdout)")
        XCTAssertFalse(settings.contains("-echo"), r.stdout)
        XCTAssertFalse(try dmNames().contains("ir-echo"))
    }
}
