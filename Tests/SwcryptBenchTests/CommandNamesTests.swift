import Foundation
import XCTest

/// Scripts/bench and Scripts/crash-test call swcrypt-bench by subcommand and option
/// names; the built binary's help must still offer each (a renamed Swift type once
/// renamed a subcommand and broke the bench after a whole VM run).
final class CommandNamesTests: XCTestCase {
    func testTheScriptsCallsExist() throws {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let binary = url.path + "/.build/debug/swcrypt-bench"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("skipped, because \(binary) is not built (swift build)")
        }
        func help(_ args: [String]) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = args + ["--help"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "swcrypt-bench \(args.joined(separator: " ")) --help: \(text)")
            return text
        }
        // What the scripts pass (grep "swcrypt-bench\|\$bench" Scripts/bench Scripts/crash-test).
        let scripts = try ["bench", "crash-test"].map {
            try String(contentsOfFile: url.path + "/Scripts/\($0)", encoding: .utf8)
        }.joined(separator: "\n")
        for sub in ["run", "record", "report", "readback"] {
            XCTAssertTrue(scripts.contains(" \(sub) ") || scripts.contains(" \(sub)\n") || scripts.contains(" \(sub) \\"),
                          "the scripts no longer call '\(sub)'; update this test")
            _ = try help([sub])
        }
        XCTAssertTrue(try help(["report"]).contains("--results"))
    }
}
