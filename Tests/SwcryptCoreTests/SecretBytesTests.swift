import Foundation
import XCTest
@testable import SwcryptKeys
#if canImport(Glibc)
import Glibc
#endif

/// SecretBytes: filled in place, growing without losing bytes, in pages of its
/// own that the kernel marks excluded from core dumps.
final class SecretBytesTests: XCTestCase {
    private func contents(_ s: SecretBytes) -> [UInt8] { s.withUnsafeBytes { Array($0) } }

    func testAppendGrowsAcrossPages() {
        let s = SecretBytes(capacity: 3)
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for b in bytes { s.append(b) }
        XCTAssertEqual(s.count, bytes.count)
        XCTAssertEqual(contents(s), bytes)
        s.truncate(to: 5)
        XCTAssertEqual(contents(s), Array(bytes[0..<5]))
        s.wipe()
        XCTAssertEqual(s.count, 0)
    }

    func testReadFromPipeInPlace() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        let text = Array("correct horse battery staple".utf8)
        XCTAssertEqual(text.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }, text.count)
        close(fds[1])
        let s = SecretBytes(capacity: 4)
        while s.read(from: fds[0], limit: 7) > 0 {}
        XCTAssertEqual(contents(s), text)
    }

    func testMatchesComparesContents() {
        let a = SecretBytes(copying: Array("abc".utf8)), b = SecretBytes(copying: Array("abc".utf8))
        let c = SecretBytes(copying: Array("abd".utf8)), d = SecretBytes(copying: Array("ab".utf8))
        XCTAssertTrue(a.matches(b))
        XCTAssertFalse(a.matches(c))
        XCTAssertFalse(a.matches(d))
    }

    func testRandomIsFilledAndDiffers() {
        let a = SecretBytes.random(count: 64), b = SecretBytes.random(count: 64)
        XCTAssertEqual(a.count, 64)
        XCTAssertFalse(a.matches(b))
        XCTAssertNotEqual(contents(a), [UInt8](repeating: 0, count: 64))
    }

    /// The mapping that holds the bytes carries VmFlags "dd" (MADV_DONTDUMP) in
    /// /proc/self/smaps; skipped where the kernel does not report VmFlags.
    func testPagesAreExcludedFromCoreDumps() throws {
        let s = SecretBytes(copying: Array("x".utf8))
        let address = s.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        // Read to the end (proc files report size 0, so no single sized read).
        let data = try? FileHandle(forReadingAtPath: "/proc/self/smaps")?.readToEnd()
        let smaps = data.flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard smaps.contains("VmFlags:") else {
            throw XCTSkip("skipped, because /proc/self/smaps has no VmFlags here")
        }
        var inRegion = false, flags: [Substring]?
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
               let lo = UInt(line[..<dash], radix: 16), let hi = UInt(line[line.index(after: dash)..<space], radix: 16) {
                inRegion = (lo..<hi).contains(address)
            } else if inRegion, line.hasPrefix("VmFlags:") {
                flags = line.dropFirst("VmFlags:".count).split(separator: " ")
                break
            }
        }
        let f = try XCTUnwrap(flags, "no mapping holds the secret's address in /proc/self/smaps")
        if !f.contains("dd") && !smaps.contains(" dd") {
            throw XCTSkip("skipped, because this kernel's smaps never reports the dd flag (no MADV_DONTDUMP accounting here)")
        }
        XCTAssertTrue(f.contains("dd"), "VmFlags of the secret's mapping: \(f.joined(separator: " "))")
    }
}
