import SwcryptCore
import SwcryptReports
import Foundation

/// On the host, after a boot: the run record as the guest wrote it, with the boot's
/// wall clock and the QEMU processes that were running beside it, or, when the VM
/// run failed, a record that says so (the report shows it as FAILED).
public enum RunFile {
    public enum Outcome {
        case recorded
        /// The guest's file was there but not readable; a failure record was written.
        case unreadable(String)
    }

    /// - Parameters:
    ///   - guestOutput: the guest's record; ignored when `vmFailure` is given.
    ///   - vmFailure: Scripts/vm's exit status when the run failed.
    public static func record(mode: String, guestOutput: String, vmFailure: Int32?, wallSeconds: Int,
                              otherQemuProcesses: Int, to destination: String) throws -> Outcome {
        var outcome = Outcome.recorded
        var run = failed(mode, "the VM run failed (Scripts/vm exit \(vmFailure ?? 0))")
        if vmFailure == nil {
            do {
                run = try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: guestOutput)))
            } catch {
                run = failed(mode, "the VM run left no readable results (\(error))")
                outcome = .unreadable("\(error)")
            }
        }
        run = run.setting("wall_seconds", .int(wallSeconds)).setting("other_qemu_processes_at_start", .int(otherQemuProcesses))
        try Data(run.compactText.utf8).write(to: URL(fileURLWithPath: destination))
        return outcome
    }

    static func failed(_ mode: String, _ error: String) -> JSONValue {
        .object([("mode", .string(mode)), ("error", .string(error)), ("rows", .array([])), ("init", .array([]))])
    }
}
