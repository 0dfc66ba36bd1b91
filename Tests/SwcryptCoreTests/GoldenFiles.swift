import Foundation
import XCTest

/// Golden files: Tests/SwcryptCoreTests/Golden/NAME, compared byte for byte.
/// `SWCRYPT_GOLDEN_RECORD=1` writes missing or changed files instead of failing
/// (then read the diff: it is a change of what users see).
func assertGolden(_ name: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    let url = directory.appendingPathComponent(name)
    let expected = try? String(contentsOf: url, encoding: .utf8)
    if ProcessInfo.processInfo.environment["SWCRYPT_GOLDEN_RECORD"] == "1" {
        if expected != text { try text.write(to: url, atomically: true, encoding: .utf8) }
        return
    }
    guard let expected else {
        return XCTFail("Golden/\(name) is missing (SWCRYPT_GOLDEN_RECORD=1 records it)", file: file, line: line)
    }
    XCTAssertEqual(text, expected, "output differs from Golden/\(name)", file: file, line: line)
}
