import Foundation
import XCTest

/// The race matrix (issue 17.5): pairs of commands started together, the first
/// after a random delay of 0-300 ms, the second anywhere in the first one's run
/// (up to 3-5 s: a command takes 1-3 s under TCG), many rounds: map vs map, map vs unmap, open vs close,
/// swcrypt vs cryptsetup opening one device, format vs open. Whatever the
/// interleaving: no process hangs (each is bounded at 120 s), the loser exits with
/// its documented code and one line, there is never a half stack (a mapping
/// without its dm-integrity layer, a layer without the mapping above it, a device
/// without a live table), and no key is left in the keyring.
///
/// `SWCRYPT_RACE_ROUNDS` sets the rounds per pair: Scripts/test runs the default
/// (5), `Scripts/torture/races` 50.
final class RaceMatrixIntegrationTests: LUKSTestCase {
    var nullBlks = [NullBlk]()
    var rounds: Int { Int(ProcessInfo.processInfo.environment["SWCRYPT_RACE_ROUNDS"] ?? "") ?? 5 }
    var log = [String]()

    override func setUpWithError() throws {
        try super.setUpWithError()
        // One kernel is enough (locking does not depend on the build); the inline
        // kernel's suite has the time to spare in Scripts/test.
        guard VM.kernelKind == (ProcessInfo.processInfo.environment["SWCRYPT_RACE_KERNEL"] ?? "inline") else {
            throw XCTSkip("skipped, because the race matrix runs in the inline-encryption kernel's suite (locking does not depend on the kernel build)")
        }
        try must(["bash", "-c", "printf 'race passphrase' > \(dir)/key; printf 'another passphrase' > \(dir)/key2"])
    }

    override func tearDownWithError() throws {
        for name in (try? dmNames()) ?? [] where name.hasPrefix("race-") {
            _ = try? execute(["dmsetup", "remove", "--force", name])
        }
        for name in (try? dmNames()) ?? [] where name.hasPrefix("race-") {
            _ = try? execute(["dmsetup", "remove", "--force", name])
        }
        for nb in nullBlks { nb.remove() }
        _ = try? sh("rm -rf \(dir)")
        if !log.isEmpty { print("races:\n  " + log.joined(separator: "\n  ")) }
    }

    final class Box: @unchecked Sendable { var result: Result?; var started = Date.distantPast; var ended = Date.distantPast }
    /// Whether the last race's two commands ran at the same time (each started
    /// before the other ended), as opposed to one after the other.
    var lastRaceOverlapped = false

    /// Runs both after random delays, concurrently; each bounded at 120 s (124: hung).
    /// `laterBy`: the second one's delay reaches that far (seconds), so that it
    /// can land anywhere inside the first one's run (a command takes 1-3 s under TCG).
    func race(_ a: [String], _ b: [String], laterBy: Double = 0.3) -> (Result, Result) {
        let boxes = (Box(), Box())
        let group = DispatchGroup()
        for (box, args, most) in [(boxes.0, a, 0.3), (boxes.1, b, laterBy)] {
            let delay = Double.random(in: 0...most)
            DispatchQueue.global().async(group: group) {
                Thread.sleep(forTimeInterval: delay)
                box.started = Date()
                box.result = try? execute(["timeout", "--kill-after=5", "120"] + args)
                box.ended = Date()
            }
        }
        group.wait()
        lastRaceOverlapped = boxes.0.started < boxes.1.ended && boxes.1.started < boxes.0.ended
        let failed = Result(status: -1, stdout: "", stderr: "could not run")
        return (boxes.0.result ?? failed, boxes.1.result ?? failed)
    }

    func nullBlk(_ name: String) throws -> NullBlk {
        let nb = try NullBlk.create(name, sizeMB: 64)
        nullBlks.append(nb)
        return nb
    }

    /// Mappings named race-*: each must have a live table, and every NAME_dif
    /// must have NAME above it (and the reverse for a stack that has one).
    func checkNoHalfStack(_ context: String, expectIntegrityLayer: Bool) throws {
        let names = try dmNames().filter { $0.hasPrefix("race-") }
        for name in names {
            let info = try must(["dmsetup", "info", name]).stdout
            XCTAssertTrue(info.contains("Tables present:    LIVE"), "\(context): \(name) has no live table:\n\(info)")
            if name.hasSuffix("_dif") {
                XCTAssertTrue(names.contains(String(name.dropLast(4))), "\(context): \(name) left without its mapping: \(names)")
            } else if expectIntegrityLayer {
                XCTAssertTrue(names.contains(name + "_dif"), "\(context): \(name) without its dm-integrity layer: \(names)")
            }
        }
    }

    func keyringEntries() throws -> [String] {
        try must(["cat", "/proc/keys"]).lines.filter { $0.contains("swcrypt:") || $0.contains("cryptsetup:") }
    }

    func oneLine(_ r: Result, _ context: String) {
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("warning:") }
        XCTAssertEqual(lines.count, 1, "\(context): the loser's stderr: \(r.stderr)")
    }

    func tally(_ pair: String, _ outcomes: [String]) {
        let counts = Dictionary(outcomes.map { ($0, 1) }, uniquingKeysWith: +)
        log.append("\(pair): \(outcomes.count) rounds: " + counts.keys.sorted().map { "\($0) x\(counts[$0]!)" }.joined(separator: ", "))
    }

    /// A command that makes mapping `name` against one that removes it, started
    /// anywhere in the first one's run: neither hangs, the maker exits 0 or 5, the
    /// remover 0, 4 (nothing there yet) or 5 with one line, never a half stack;
    /// whatever is left is removed before the next round.
    func raceMakeAndRemove(_ pair: String, name: String, make: [String], remove: [String], laterBy: Double,
                           before: () throws -> Void = {}) throws {
        var outcomes = [String]()
        for round in 1...rounds {
            try before()
            let (m, r) = race(make, remove, laterBy: laterBy)
            let context = "\(pair), round \(round): \(m.status)/\(r.status)"
            XCTAssertNotEqual(m.status, 124, "\(context): \(make[1]) hung"); XCTAssertNotEqual(r.status, 124, "\(context): \(remove[1]) hung")
            XCTAssertTrue([0, 5].contains(m.status), "\(context): \(make[1]): \(m.stderr)")
            XCTAssertTrue([0, 4, 5].contains(r.status), "\(context): \(remove[1]): \(r.stderr)")
            if r.status != 0 { oneLine(r, context) }
            try checkNoHalfStack(context, expectIntegrityLayer: true)
            outcomes.append("\(m.status)/\(r.status)" + (lastRaceOverlapped ? " overlapping" : " one after the other"))
            if try dmNames().contains(name) { try must(remove) }
        }
        tally(pair, outcomes)
    }

    func testMapVersusMapAndUnmap() throws {
        let a = try nullBlk("racenb0"), b = try nullBlk("racenb1")
        let map = { (dev: String) in [VM.swcrypt, "map", "crypt", "race-m", dev, "--random-key", "--emulate-metadata", "journal"] }
        let keys = try keyringEntries()
        var outcomes = [String]()
        for round in 1...rounds {
            for d in [a.path, b.path] { try VM.wipeSignatures(d) }
            let (x, y) = race(map(a.path), map(b.path))
            let context = "map vs map, round \(round): \(x.status)/\(y.status)"
            XCTAssertTrue([x.status, y.status].sorted() == [0, 5], "\(context): one wins, the other exits 5: \(x.stderr) | \(y.stderr)")
            oneLine(x.status == 0 ? y : x, context)
            try checkNoHalfStack(context, expectIntegrityLayer: true)
            outcomes.append("\(x.status)/\(y.status)")
            try must([VM.swcrypt, "unmap", "race-m"])
        }
        tally("map vs map (one name, two devices)", outcomes)

        try raceMakeAndRemove("map vs unmap", name: "race-m", make: map(a.path), remove: [VM.swcrypt, "unmap", "race-m"],
                              laterBy: 5, before: { try VM.wipeSignatures(a.path) })
        XCTAssertEqual(try keyringEntries(), keys, "keys left in the keyring")
    }

    func testOpenVersusCloseAndCryptsetupAndFormat() throws {
        let nb = try nullBlk("racenb2")
        let fmt = try execute([VM.swcrypt, "format", nb.path, "--key-file", "\(dir)/key", "--batch-mode", "--no-wipe",
                               "--integrity-mode", "journal"] + fastPBKDF)
        XCTAssertEqual(fmt.status, 0, fmt.stderr)
        let open = { (name: String) in [VM.swcrypt, "open", nb.path, name, "--key-file", "\(self.dir)/key"] }
        let keys = try keyringEntries()
        try raceMakeAndRemove("open vs close", name: "race-v", make: open("race-v"), remove: [VM.swcrypt, "close", "race-v"], laterBy: 4)

        var outcomes = [String]()

        for round in 1...rounds {
            // Either may start first (cryptsetup starts faster than swcrypt under TCG).
            let theirs = [cryptsetup, "open", nb.path, "race-c", "--key-file", "\(dir)/key"]
            let swap = Bool.random()
            let (first, second) = swap ? race(theirs, open("race-s"), laterBy: 2) : race(open("race-s"), theirs, laterBy: 2)
            let (s, c) = swap ? (second, first) : (first, second)
            let context = "swcrypt open vs cryptsetup open, round \(round): \(s.status)/\(c.status)"
            XCTAssertTrue((s.status == 0) != (c.status == 0), "\(context): exactly one opens: \(s.stderr) | \(c.stderr)")
            if s.status != 0 { XCTAssertEqual(s.status, 5, "\(context): \(s.stderr)"); oneLine(s, context) }
            if c.status != 0 { XCTAssertEqual(c.status, 5, "\(context): cryptsetup: \(c.stderr)") }
            try checkNoHalfStack(context, expectIntegrityLayer: true)
            outcomes.append("\(s.status)/\(c.status)")
            for name in ["race-s", "race-c"] where try dmNames().contains(name) { try must([cryptsetup, "close", name]) }
        }
        tally("swcrypt open vs cryptsetup open", outcomes)

        outcomes = []
        for round in 1...rounds {
            // format (a new passphrase) against open (the old one): never both.
            let (f, o) = race([VM.swcrypt, "format", nb.path, "--key-file", "\(dir)/key2", "--batch-mode", "--no-wipe",
                               "--integrity-mode", "journal"] + fastPBKDF, open("race-f"), laterBy: 3)
            let context = "format vs open, round \(round): \(f.status)/\(o.status)"
            XCTAssertNotEqual(f.status, 124, "\(context): format hung"); XCTAssertNotEqual(o.status, 124, "\(context): open hung")
            XCTAssertFalse(f.status == 0 && o.status == 0, "\(context): the volume was formatted under an open mapping, or opened from a header being replaced")
            XCTAssertTrue([0, 5].contains(f.status), "\(context): format: \(f.stderr)")
            XCTAssertTrue([0, 2, 4, 5].contains(o.status), "\(context): open: \(o.stderr)")
            if f.status != 0 { oneLine(f, context) }
            if o.status != 0 { oneLine(o, context) }
            try checkNoHalfStack(context, expectIntegrityLayer: true)
            outcomes.append("\(f.status)/\(o.status)")
            if try dmNames().contains("race-f") { try must([VM.swcrypt, "close", "race-f"]) }
            // Back to the first passphrase for the next round.
            let again = try execute([VM.swcrypt, "format", nb.path, "--key-file", "\(dir)/key", "--batch-mode", "--no-wipe",
                                     "--integrity-mode", "journal"] + fastPBKDF)
            XCTAssertEqual(again.status, 0, again.stderr)
        }
        tally("format vs open", outcomes)
        XCTAssertEqual(try keyringEntries(), keys, "keys left in the keyring")
    }
}
