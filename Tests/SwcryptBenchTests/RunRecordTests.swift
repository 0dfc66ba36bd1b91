import SwcryptCore
import SwcryptReports
import Foundation
import XCTest
@testable import SwcryptBenchKit

/// Run records: read with Codable, written by the runner in the shape and key
/// order the earlier script (jq, then Python's json.dump) wrote.
final class RunRecordTests: XCTestCase {
    func fixture(_ path: String) throws -> Data {
        try Data(contentsOf: ReportGoldenTests.fixtures.appendingPathComponent(path))
    }

    /// A record read and written again is the same bytes (json.dump's layout).
    func testRecordRoundTrip() throws {
        for path in ["recorded/run-cpu.json", "recorded/run-device.json", "failures/run-cpu-failed.json"] {
            let data = try fixture(path)
            XCTAssertEqual(try JSONValue(parsing: data).compactText, String(decoding: data, as: UTF8.self), path)
        }
    }

    /// The runner's rows and initialisation entries come out as the script's did.
    func testRowsAndInitsAsTheScriptWroteThem() throws {
        for path in ["recorded/run-cpu.json", "recorded/run-device.json"] {
            let data = try fixture(path)
            let raw = try JSONValue(parsing: data), record = try RunRecord.decode(data)
            guard case .array(let rows)? = raw["rows"], case .array(let inits)? = raw["init"] else { return XCTFail(path) }
            XCTAssertEqual(rows.count, record.rows.count)
            for (written, row) in zip(rows, record.rows) {
                XCTAssertEqual(row.json.compactText, written.compactText, "\(path) \(row.id)")
            }
            for (written, entry) in zip(inits, record.inits) {
                XCTAssertEqual(entry.json.compactText, written.compactText, "\(path) init \(entry.id)")
            }
        }
    }

    func testDecodedRecord() throws {
        let record = try RunRecord.decode(try fixture("recorded/run-device.json"))
        XCTAssertEqual(record.mode, "device")
        XCTAssertEqual(record.throttleBps, 16_777_216)
        XCTAssertEqual(record.namespaces?.nsid1, "nvme0n1")
        XCTAssertEqual(record.fioJob?.runtimeS, 5)
        XCTAssertEqual(record.row("sw-bitmap")?.status, .notApplicable)
        let aegis = try XCTUnwrap(record.row("sw-aegis"))
        XCTAssertEqual(aegis.status, .error)
        XCTAssertNotNil(aegis.seqRead?.failure)
        XCTAssertEqual(aegis.seqWrite?.samplesMibS?.count, 3)
        XCTAssertEqual(record.initEntry("cs-luksformat")?.unreadableMibAfter, 0)
        XCTAssertEqual(record.wallSeconds, 877)
    }

    /// Rounds: the lower median of each number; the first error when any round failed.
    func testMedians() {
        let rounds: [[FioJobKind: JobResult]] = [
            [.seqWrite: JobResult(mibS: 3, iops: 3, bytes: 30, nsSectorsWritten: 60, writeAmplification: 1),
             .seqRead: JobResult(mibS: 9, error: "fio seq_read: EILSEQ")],
            [.seqWrite: JobResult(mibS: 1, iops: 1, bytes: 10, nsSectorsWritten: 20, writeAmplification: 1.5),
             .seqRead: JobResult(mibS: 8)],
            [.seqWrite: JobResult(mibS: 2, iops: nil, bytes: 20, nsSectorsWritten: 40, writeAmplification: 1.25)],
            [.seqWrite: JobResult(mibS: 4, iops: 4, bytes: 40, nsSectorsWritten: 80, writeAmplification: 1.1)],
        ]
        let m = GuestRunner.medians(rounds)
        XCTAssertEqual(m[.seqWrite], JobResult(mibS: 2, iops: 3, bytes: 20, nsSectorsWritten: 40, writeAmplification: 1.1,
                                              samplesMibS: [3, 1, 2, 4]))
        XCTAssertEqual(m[.seqRead], JobResult(error: "fio seq_read: EILSEQ"))
        XCTAssertNil(m[.randWrite])
        XCTAssertEqual(m[.seqRead]?.json.compactText, #"{"error": "fio seq_read: EILSEQ"}"#)
    }

    /// Scripts/bench's record step: the boot's wall clock appended, or a failure record.
    func testRecordStep() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-record-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let guest = dir.appendingPathComponent("guest.json").path, saved = dir.appendingPathComponent("run.json").path
        try Data(#"{"mode": "cpu", "rows": [], "init": [], "wall_seconds": 1}"#.utf8).write(to: URL(fileURLWithPath: guest))

        guard case .recorded = try RunFile.record(mode: "cpu", guestOutput: guest, vmFailure: nil, wallSeconds: 411,
                                                  otherQemuProcesses: 2, to: saved) else { return XCTFail() }
        XCTAssertEqual(try String(contentsOfFile: saved, encoding: .utf8),
                       #"{"mode": "cpu", "rows": [], "init": [], "wall_seconds": 411, "other_qemu_processes_at_start": 2}"#)

        _ = try RunFile.record(mode: "device", guestOutput: guest, vmFailure: 125, wallSeconds: 40, otherQemuProcesses: 0, to: saved)
        XCTAssertEqual(try String(contentsOfFile: saved, encoding: .utf8),
                       #"{"mode": "device", "error": "the VM run failed (Scripts/vm exit 125)", "rows": [], "init": [], "#
                        + #""wall_seconds": 40, "other_qemu_processes_at_start": 0}"#)

        try Data("{\"mode\": ".utf8).write(to: URL(fileURLWithPath: guest))
        guard case .unreadable = try RunFile.record(mode: "cpu", guestOutput: guest, vmFailure: nil, wallSeconds: 3,
                                                    otherQemuProcesses: 0, to: saved) else { return XCTFail() }
        XCTAssertEqual(try RunRecord.decode(Data(contentsOf: URL(fileURLWithPath: saved))).error?.hasPrefix("the VM run left no readable results"), true)
    }
}
