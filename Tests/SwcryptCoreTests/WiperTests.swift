import Synchronization
import XCTest
import SwcryptCore
@testable import SwcryptSystem

/// The initialiser's in-flight count is real (issue 13.11): Dispatch's
/// concurrentPerform never ran more iterations at once than there are CPUs, so
/// "two writes per CPU" was one. And the measured ramp finds a deeper queue when
/// each request waits on something other than the CPU (a device's latency).
final class WiperTests: XCTestCase {
    /// Pieces that each wait 20 ms: how many run at once.
    func concurrency(_ depth: Wiper.Pass.Depth, pieces: Int = 64) -> (max: Int, pass: Wiper.Pass) {
        let pass = Wiper.Pass(size: UInt64(pieces) * 4096, chunkBytes: 4096)
        let current = Atomic<Int>(0), highest = Atomic<Int>(0)
        pass.run(depth, device: "test", fill: 0) { _, _, _ throws(SwcryptError) in
            let now = current.add(1, ordering: .relaxed).newValue
            var seen = highest.load(ordering: .relaxed)
            while now > seen {
                let (exchanged, original) = highest.compareExchange(expected: seen, desired: now, ordering: .relaxed)
                if exchanged { break }
                seen = original
            }
            usleep(20_000)
            current.subtract(1, ordering: .relaxed)
        }
        return (highest.load(ordering: .relaxed), pass)
    }

    func testFixedDepthIsReallyInFlight() {
        let cpus = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        let r = concurrency(.fixed(8))
        XCTAssertEqual(r.max, 8, "8 requested, \(r.max) ran at once on \(cpus) CPUs")
        XCTAssertEqual(r.pass.done.load(ordering: .relaxed), 64 * 4096)
    }

    func testMeasuredRampGoesDeeperWhenRequestsWait() {
        // 400 pieces of 20 ms: 8 s at depth 1, so the ramp has windows to measure.
        let r = concurrency(.measured(max: 16), pieces: 400)
        let steps = r.pass.ramp.withLock { $0 }
        XCTAssertGreaterThanOrEqual(steps.count, 3, "\(steps)")
        XCTAssertGreaterThan(r.pass.depth.load(ordering: .relaxed), 2, "\(steps)")
        XCTAssertEqual(r.pass.done.load(ordering: .relaxed), 400 * 4096)
        print("wiper: measured ramp with 20 ms requests: " + steps.map { "\($0.depth): \(Int($0.bytesPerSecond / 1024)) KiB/s" }.joined(separator: ", "))
    }
}
