import Foundation
import XCTest

/// cryptsetup's users are swcrypt's: a short flag never means something more
/// dangerous than cryptsetup's same flag, and the common options are spelled as
/// cryptsetup spells them (issue 13.12). Read from the built binary's help, as a
/// user sees it (runs on the host: --help touches no device).
final class CommandLineConventionTests: XCTestCase {
    static let binary: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return ProcessInfo.processInfo.environment["SWCRYPT_BIN"] ?? url.path + "/.build/debug/swcrypt"
    }()

    func help(_ args: [String]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw XCTSkip("skipped, because \(Self.binary) is not built (swift build)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args + ["--help"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "\(args) --help")
        return String(decoding: data, as: UTF8.self)
    }

    /// The short-flag column of a help text: "-y, --verify-passphrase" etc.
    func shortFlags(_ text: String) -> [String: String] {
        var found = [String: String]()
        for line in text.split(separator: "\n") {
            let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ")
            guard words.count >= 2, words[0].count == 3, words[0].hasPrefix("-"), words[0].hasSuffix(","),
                  words[1].hasPrefix("--") else { continue }
            found[String(words[0].dropLast())] = String(words[1].trimmingCharacters(in: CharacterSet(charactersIn: ",")))
        }
        return found
    }

    static let commands: [[String]] = [
        ["check"], ["id-ns"], ["nvme-format"], ["format"], ["open"], ["close"], ["status"], ["dump"],
        ["map", "crypt"], ["map", "integrity"], ["map", "passthrough"], ["map", "table"], ["unmap"], ["ls"],
        ["testdev", "create"], ["testdev", "remove"], ["testdev", "ls"], ["inline-crypto"],
        ["key", "add"], ["key", "change"], ["key", "remove"], ["key", "kill"], ["key", "list"],
        ["header", "backup"], ["header", "restore"], ["token", "list"], ["token", "export"], ["token", "import"], ["token", "remove"],
        ["crypttab"], ["attach"], ["detach"],
    ]

    /// cryptsetup's meaning of each short flag swcrypt uses.
    static let cryptsetupShort: [String: String] = [
        "-q": "--batch-mode", "-y": "--verify-passphrase", "-d": "--key-file", "-r": "--readonly",
        "-v": "--verbose", "-c": "--cipher", "-s": "--key-size", "-I": "--integrity", "-i": "--iter-time",
        "-V": "--version", "-h": "--help", "-S": "--key-slot", "-T": "--tries", "-l": "--keyfile-size",
    ]

    func testShortFlagsMeanWhatCryptsetupsDo() throws {
        for command in Self.commands {
            let text = try help(command)
            for (short, long) in shortFlags(text) {
                XCTAssertEqual(Self.cryptsetupShort[short], long,
                               "swcrypt \(command.joined(separator: " ")): \(short) is \(long), cryptsetup's \(short) is \(Self.cryptsetupShort[short] ?? "nothing")")
            }
            XCTAssertTrue(text.contains("--debug"), "\(command) lacks --debug")
            XCTAssertTrue(text.contains("-v, --verbose"), "\(command) lacks -v/--verbose")
        }
    }

    func testDestructiveCommandsTakeBatchMode() throws {
        for command in [["format"], ["nvme-format"], ["header", "restore"], ["key", "kill"]] {
            let text = try help(command)
            XCTAssertTrue(text.contains("-q, --batch-mode, --yes"), "\(command): \(text)")
        }
        XCTAssertTrue(try help(["format"]).contains("-y, --verify-passphrase"))
        XCTAssertTrue(try help(["open"]).contains("-d, --key-file"))
        XCTAssertTrue(try help(["open"]).contains("-r, --readonly"))
        XCTAssertTrue(try help(["map", "crypt"]).contains("-r, --readonly"))
    }

    func testPerformanceFlagsAreCryptsetups() throws {
        let perf = ["--perf-same_cpu_crypt", "--perf-submit_from_crypt_cpus", "--perf-no_read_workqueue",
                    "--perf-no_write_workqueue", "--perf-high_priority"]
        for command in [["open"], ["map", "crypt"]] {
            let text = try help(command)
            for flag in perf { XCTAssertTrue(text.contains(flag), "\(command) lacks \(flag)") }
        }
        XCTAssertTrue(try help(["open"]).contains("--allow-discards"))
    }
}
