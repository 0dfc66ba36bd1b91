import SwcryptCore
import Foundation
import XCTest
@testable import SwcryptBenchKit

/// The scrub rows: what the runner reads of `swcrypt scrub --json`, and the targets.
final class ScrubBenchTests: XCTestCase {
    func testReadsScrubJSONFromWhereItStarted() throws {
        let interrupted = #"{"completed": false, "damaged_blocks": 0, "position": 167772160, "resumed_at": 41943040, "seconds": 15.2}"#
        let s = try XCTUnwrap(GuestRunner.parseScrub(interrupted))
        XCTAssertEqual(s.mib, 120)
        XCTAssertEqual(s.seconds, 15.2)
        XCTAssertFalse(s.completed)
        XCTAssertNil(GuestRunner.parseScrub("swcrypt: bench-vol: no open LUKS2 volume"))
    }

    func testTargets() throws {
        var entry = ScrubEntry()
        (entry.volumeMib, entry.seconds) = (2400, 5)
        (entry.askedMibS, entry.pacedMib, entry.pacedSeconds) = (10, 160, 15)
        (entry.foregroundP99UsAlone, entry.foregroundP99UsWithScrub) = (400, 1200)
        let data = try Data(contentsOf: ReportGoldenTests.fixtures.appendingPathComponent("recorded/run-cpu.json"))
        var record = try RunRecord.decode(data)
        record.scrub = entry
        let targets = Targets(runs: ["cpu": record]).ratios.filter { $0.target.hasPrefix("scrub") || $0.target.hasPrefix("foreground") }
        // 480 MiB/s: far from the raw namespace's 6716 (a read that does not decrypt),
        // 0.978x fio's 491 through the mapping; 10.67 MiB/s for --rate 10.
        XCTAssertEqual(targets.map(\.result), ["MISS", "PASS", "PASS", "reported (no target)"], "\(targets.map(\.detail))")
        XCTAssertEqual(targets[1].measured ?? 0, 480 / 491.039426, accuracy: 1e-9)
        XCTAssertEqual(targets[2].measured ?? 0, 160.0 / 15 / 10, accuracy: 1e-9)
        XCTAssertEqual(targets[3].measured, 3)
    }
}
