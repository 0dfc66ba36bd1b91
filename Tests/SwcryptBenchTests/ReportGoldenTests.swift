import Foundation
import XCTest
@testable import SwcryptBenchKit

/// The report of recorded runs against golden files. The goldens were first made by
/// the Python report that Scripts/bench had before swcrypt-bench (same runs, same
/// date, same revision), so these tests prove the Swift report prints and saves the
/// same bytes. SWCRYPT_UPDATE_GOLDEN=1 rewrites them from the Swift report (then
/// read the diff).
final class ReportGoldenTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func report(_ folder: String, _ runs: [String], revision: String, totalSeconds: Int) throws -> BenchReport {
        let inputs = try runs.map { try BenchReport.Input(data: Data(contentsOf: Self.fixtures.appendingPathComponent("\(folder)/\($0)"))) }
        return BenchReport(runs: inputs, revision: revision, totalSeconds: totalSeconds, date: "2026-12-01 17:55")
    }

    func assertGolden(_ text: String, _ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = Self.fixtures.appendingPathComponent(path)
        if ProcessInfo.processInfo.environment["SWCRYPT_UPDATE_GOLDEN"] == "1" {
            try Data(text.utf8).write(to: url)
            return
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        if text != golden {
            let a = text.split(separator: "\n", omittingEmptySubsequences: false)
            let b = golden.split(separator: "\n", omittingEmptySubsequences: false)
            let n = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
            XCTFail("\(path) differs at line \(n + 1):\n  got:      \(n < a.count ? a[n] : "<end>")\n  expected: \(n < b.count ? b[n] : "<end>")",
                    file: file, line: line)
        }
    }

    /// The last recorded bench of the submitted code (CPU-bound and device-bound,
    /// EILSEQ in the device-bound sequential reads), reported with --report.
    func testRecordedRuns() throws {
        let r = try report("recorded", ["run-cpu.json", "run-device.json"], revision: "2a6ac0a", totalSeconds: 0)
        try assertGolden(r.markdown + "\n", "recorded/report.md")
        try assertGolden(r.json.indentedText + "\n", "recorded/report.json")
        try assertGolden(r.printed, "recorded/printed.txt")
        XCTAssertEqual(r.errors.count, 2)
        XCTAssertTrue(r.markdown.contains("| inline write throughput >= 1.9x the journal layout | device | 1.993x | PASS |"))
    }

    /// Every failure the report knows: a VM that did not run, rows that failed
    /// before measuring, failed jobs, a bitmap format that succeeded, unreadable
    /// sectors after initialisation, no reference cryptsetup, another QEMU running.
    func testFailures() throws {
        let r = try report("failures", ["run-cpu-failed.json", "run-device-errors.json"], revision: "2a6ac0a+dirty", totalSeconds: 1313)
        try assertGolden(r.markdown + "\n", "failures/report.md")
        try assertGolden(r.json.indentedText + "\n", "failures/report.json")
        XCTAssertEqual(r.errors.count, 9)
    }

    func testOneMode() throws {
        let r = try report("recorded", ["run-cpu.json"], revision: "2a6ac0a", totalSeconds: 0)
        try assertGolden(r.markdown + "\n", "cpu-only/report.md")
        try assertGolden(r.json.indentedText + "\n", "cpu-only/report.json")
        XCTAssertTrue(r.errors.isEmpty)
    }

    /// A later record of the same mode replaces the earlier one where it stood.
    func testSameModeTwice() throws {
        let r = try report("recorded", ["run-cpu.json", "run-device.json", "run-cpu.json"], revision: "x", totalSeconds: 5)
        guard case .object(let runs)? = r.json["runs"] else { return XCTFail("no runs") }
        XCTAssertEqual(runs.map(\.0), ["cpu", "device"])
        XCTAssertTrue(r.markdown.hasSuffix("Total time 0 min 5 s."))
    }
}
