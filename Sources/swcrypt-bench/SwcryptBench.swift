import ArgumentParser
import Foundation
import SwcryptBenchKit

/// The benchmark's tool (Scripts/bench, Scripts/crash-test): not shipped.
@main
struct SwcryptBench: ParsableCommand {
    static let about = "The benchmark's runner (in the test VM), its report, and crash-test's read-back."
    static let configuration = CommandConfiguration(commandName: "swcrypt-bench", abstract: about,
                                                    subcommands: [Run.self, Record.self, Report.self, ReadBack.self])
}

extension SwcryptBench {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure every configuration on the VM's NVMe namespaces 1 and 2; write one run record.")

        @Option(help: "cpu or device (recorded).") var mode: String
        @Option(help: "The run record to write.") var output: String
        @Option(help: "Seconds per fio job.") var runtime: Int
        @Option(help: "Seconds of ramp before a read job.") var ramp: Int = 1
        @Option(help: "The device-bound cap in bytes/s (recorded; QEMU applies it).") var throttle: Int?
        @Option(help: "Alternating openings of swcrypt's and cryptsetup's mapping of one volume.") var rounds: Int = 3
        @Option(help: "The swcrypt binary measured.") var swcrypt: String
        @Option(help: "The reference cryptsetup; empty for none.") var cryptsetup: String = ""

        func run() throws {
            let runner = GuestRunner(options: .init(
                mode: mode, output: output, runtime: runtime, ramp: ramp, throttle: throttle, rounds: rounds,
                swcrypt: swcrypt, cryptsetup: cryptsetup.isEmpty ? nil : cryptsetup))
            let status = runner.runAll()
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save a boot's run record with its wall clock (or a failure record when the VM run failed).")

        @Option var mode: String
        @Option(help: "Scripts/vm's exit status, when the VM run failed.") var vmFailed: Int32?
        @Option var wallSeconds: Int
        @Option(help: "QEMU processes running when the boot started.") var otherQemu: Int = 0
        @Argument(help: "The guest's run record.") var guestOutput: String
        @Argument(help: "Where to save it (bench-results/run-MODE.json).") var destination: String

        func run() throws {
            let outcome = try RunFile.record(mode: mode, guestOutput: guestOutput, vmFailure: vmFailed, wallSeconds: wallSeconds,
                                             otherQemuProcesses: otherQemu, to: destination)
            if case .unreadable(let why) = outcome {
                FileHandle.standardError.write(Data("bench: the \(mode)-bound run left no readable results: \(why)\n".utf8))
                throw ExitCode.failure
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Print the report of recorded runs and save it as latest.md and latest.json; exit 1 when anything failed.")

        @Option(help: "Where latest.md and latest.json go.") var results: String
        @Option(help: "The code measured (git rev-parse --short HEAD).") var revision: String
        @Option(help: "The bench's wall clock; 0 = the sum of the boots.") var totalSeconds: Int = 0
        @Option(help: "The report's time, YYYY-MM-DD HH:MM (default: now).") var date: String?
        @Argument(help: "Run records (bench-results/run-MODE.json).") var runs: [String]

        func run() throws {
            let inputs = try runs.map { try SwcryptBenchKit.BenchReport.Input(data: Data(contentsOf: URL(fileURLWithPath: $0))) }
            let report = SwcryptBenchKit.BenchReport(runs: inputs, revision: revision, totalSeconds: totalSeconds,
                                                date: date ?? SwcryptBenchKit.BenchReport.now())
            print(report.printed, terminator: "")
            try Data((report.markdown + "\n").utf8).write(to: URL(fileURLWithPath: "\(results)/latest.md"))
            try Data((report.json.indentedText + "\n").utf8).write(to: URL(fileURLWithPath: "\(results)/latest.json"))
            FileHandle.standardError.write(Data("\n(saved: \(results)/latest.md, \(results)/latest.json)\n".utf8))
            if !report.errors.isEmpty { throw ExitCode.failure }
        }
    }

    struct ReadBack: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "readback",
            abstract: "Read every 4 KiB block of a device with O_DIRECT; print \"UNREADABLE BLOCKS\".")

        @Argument var device: String

        func run() throws {
            let result = try BlockReadBack.read(device)
            print(result.unreadableBlocks, result.blocks)
        }
    }
}
