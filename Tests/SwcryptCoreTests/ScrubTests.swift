import XCTest
@testable import SwcryptCore
@testable import SwcryptKit
import SwcryptReports

/// Scrub's models: damaged blocks grouped into ranges, the checkpoint's text, and
/// what `scrub` prints (golden files), from fixture results.
final class ScrubTests: XCTestCase {
    func testRangesGroupConsecutiveBlocksWithOneCauseAndOwner() {
        let blocks = [5, 6, 7, 9, 10, 11].map { DamagedBlock(offset: UInt64($0) * 4096, errno: 84) }
            + [DamagedBlock(offset: 8 * 4096, errno: 5)]
        let owner: (UInt64) -> BlockOwner = { $0 / 4096 <= 6 ? .file("/mnt/a") : $0 / 4096 == 7 ? .metadata : .free }
        let ranges = DamagedRange.group(blocks, blockBytes: 4096, owner: owner, rawBlock: { 1000 + $0 / 4096 })
        XCTAssertEqual(ranges.map(\.offset), [5, 7, 8, 9].map { UInt64($0) * 4096 })
        XCTAssertEqual(ranges.map(\.blocks), [2, 1, 1, 3])
        XCTAssertEqual(ranges.map(\.cause), [.authentication, .authentication, .readError, .authentication])
        XCTAssertEqual(ranges.map(\.rawBlock), [1005, 1007, 1008, 1009])
        XCTAssertEqual(ranges[3].owner, .free)
    }

    func testCheckpointRoundTripAndRefusals() {
        let c = ScrubCheckpoint(uuid: "DB084AAF-B1AB-4FEC-91AF-644D9DF60632", volumeBytes: 512 << 20, blockBytes: 4096,
                                position: 96 << 20, damaged: [DamagedBlock(offset: 8192, errno: 84)], seconds: 12.5)
        XCTAssertEqual(ScrubCheckpoint(json: c.json), c)
        XCTAssertNil(ScrubCheckpoint(json: "{}"))
        XCTAssertNil(ScrubCheckpoint(json: #"{"uuid":"x","volume_bytes":10,"block_bytes":4096,"position":20,"damaged":[]}"#),
                     "a position beyond the end")
        XCTAssertNil(ScrubCheckpoint(json: "not json"))
    }

    func testRateIsACeilingThatDoesNotCatchUpAfterAStall() {
        // 1 MiB/s, reads of 256 KiB: each read is due a quarter second after the last.
        var pace = ScrubPace(bytesPerSecond: 1_048_576, startingAt: 100)
        XCTAssertEqual(pace.wait(afterReading: 256 << 10, now: 100.05), 0.20, accuracy: 1e-9)
        XCTAssertEqual(pace.wait(afterReading: 256 << 10, now: 100.30), 0.20, accuracy: 1e-9)
        // Stalled for 10 s (a busy disk, SIGSTOP): an average from the start would now
        // read 40 chunks without waiting; the ceiling reads the slack's worth, then paces.
        var waits: [Double] = []
        var now = 110.5
        for _ in 0..<8 {
            now += 0.01  // the device gives 256 KiB in 10 ms
            waits.append(pace.wait(afterReading: 256 << 10, now: now))
            now += waits.last!
        }
        XCTAssertEqual(waits.filter { $0 == 0 }.count, 2, "a quarter second of lag carried over, not ten: \(waits)")
        XCTAssertEqual(waits[2], 0.23, accuracy: 1e-9)
        for w in waits.dropFirst(3) { XCTAssertEqual(w, 0.24, accuracy: 1e-9) }
        // A read slower than the rate: no wait, and the lag beyond the slack is dropped.
        var slow = ScrubPace(bytesPerSecond: 1_048_576, startingAt: 0)
        XCTAssertEqual(slow.wait(afterReading: 1 << 20, now: 3), 0)
        XCTAssertEqual(slow.due, 2.75, accuracy: 1e-9, "due from 3 - 0.25, not from 0")
        XCTAssertEqual(slow.wait(afterReading: 256 << 10, now: 3.01), 0, "the slack's worth")
        XCTAssertEqual(slow.wait(afterReading: 256 << 10, now: 3.02), 0.23, accuracy: 1e-9)
    }

    static func result(completed: Bool, ranges: [DamagedRange]) -> ScrubResult {
        ScrubResult(name: "data", uuid: "DB084AAF-B1AB-4FEC-91AF-644D9DF60632", device: "/dev/nvme0n1", layout: .inlineHardware,
                    volumeBytes: 512 << 20, blockBytes: 4096, resumedAt: completed ? 128 << 20 : 0,
                    position: completed ? 512 << 20 : 200 << 20, seconds: 6.4, completed: completed,
                    filesystem: "ext4", mountPoint: "/srv/data", ranges: ranges)
    }

    func testOutputGolden() throws {
        let ranges = [
            DamagedRange(offset: 35 << 12, blocks: 1, cause: .authentication, owner: .file("/srv/data/damaged.bin"), rawBlock: 4131),
            DamagedRange(offset: 32768 << 12, blocks: 1, cause: .authentication, owner: .metadata, rawBlock: 36864),
            DamagedRange(offset: 100000 << 12, blocks: 2, cause: .readError, owner: .free, rawBlock: 104096, rewritten: true),
            DamagedRange(offset: 120000 << 12, blocks: 1, cause: .authentication,
                         owner: .unknown("in no file: XFS free space or XFS metadata (swcrypt tells them apart on ext4 only)"), rawBlock: nil),
        ]
        let damaged = ScrubReport(Self.result(completed: true, ranges: ranges))
        try assertGolden("scrub-damaged.txt", damaged.lines.joined(separator: "\n") + "\n")
        try assertGolden("scrub-damaged.json", try JSONText.encode(damaged) + "\n")
        let interrupted = ScrubReport(Self.result(completed: false, ranges: []))
        try assertGolden("scrub-interrupted.txt", interrupted.lines.joined(separator: "\n") + "\n")
    }
}
