import XCTest

/// A test case working on a fixture tree (sysfs, procfs, /boot, /lib/modules)
/// under a fresh temporary root, removed afterwards.
class FixtureTreeTestCase: XCTestCase {
    var root = ""

    /// Subclasses name their trees (e.g. "sysfs"), for readable temporary paths.
    var fixtureName: String { "fixture" }

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "swcrypt-\(fixtureName)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Writes `text` and a newline to root/path, creating directories.
    func write(_ path: String, _ text: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try (text + "\n").write(toFile: full, atomically: true, encoding: .utf8)
    }

    /// A symbolic link root/path -> target, creating directories.
    func link(_ path: String, _ target: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: target)
    }
}
