import Foundation

/// Runs the programs the bench measures and the witnesses it asks (swcrypt,
/// cryptsetup, fio, dmsetup), one at a time, as `timeout SECONDS CMD >FILE 2>&1` did.
enum Commands {
    /// Exit status 124 when the timeout ended the command (as timeout(1)), 127 when
    /// it could not be started, 128+N when signal N ended it.
    static func run(_ argv: [String], outputFile: String, timeout: Double) -> Int32 {
        _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
        guard let out = FileHandle(forWritingAtPath: outputFile) else { return 126 }
        defer { try? out.close() }
        guard let path = executable(argv[0]) else {
            out.write(Data("\(argv[0]): command not found\n".utf8))
            return 127
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = Array(argv.dropFirst())
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = out
        p.standardError = out
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do {
            try p.run()
        } catch {
            out.write(Data("\(argv[0]): \(error)\n".utf8))
            return 127
        }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            done.wait()
            return 124
        }
        return p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    }

    /// A command's standard output, trailing newlines removed (as `$(CMD 2>/dev/null)`);
    /// "" when it cannot run.
    static func output(_ argv: [String]) -> String {
        guard let path = executable(argv[0]) else { return "" }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = Array(argv.dropFirst())
        p.standardInput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let pipe = Pipe()
        p.standardOutput = pipe
        guard (try? p.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// The last non-empty line of a file, for error messages; "" when there is none.
    static func lastLine(of path: String) -> String {
        lines(of: path).last { !$0.isEmpty } ?? ""
    }

    static func lines(of path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// A program by path, or found on PATH.
    static func executable(_ name: String) -> String? {
        if name.isEmpty { return nil }
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Rounds as `awk 'BEGIN { printf "%.6f", X }'` did in the earlier script, so that the
/// records hold the same numbers.
func round6(_ x: Double) -> Double {
    Double(String(format: "%.6f", x)) ?? x
}
