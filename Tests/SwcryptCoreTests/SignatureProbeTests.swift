import Foundation
import XCTest
import SwcryptBlkid
import SwcryptCore

/// Signatures through libblkid (issue 13.3), on image files made by the real tools
/// (an ext4, swap, a GPT, and what the hand-written magic list missed: a FAT
/// filesystem when mkfs.vfat is there). Host only: libblkid probes regular files.
final class SignatureProbeTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "swcrypt-sig-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// A 32 MiB zero image, then TOOL run on it; skips when the tool is missing.
    func image(_ name: String, _ tool: String, _ args: [String], stdin: String? = nil) throws -> String {
        let path = "\(dir)/\(name)"
        FileManager.default.createFile(atPath: path, contents: nil)
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try h.truncate(atOffset: 32 << 20)
        try h.close()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args + [path]
        p.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        let inp = Pipe()
        p.standardInput = inp; p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inp.fileHandleForWriting.close()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw XCTSkip("skipped, because \(tool) is not installed or failed here (exit \(p.terminationStatus))")
        }
        return path
    }

    func testEmptyDeviceIsProbedAndClean() throws {
        let path = "\(dir)/zero"
        FileManager.default.createFile(atPath: path, contents: Data(count: 1 << 20))
        XCTAssertEqual(SignatureProbe.scan(path: path), .probed([]))
        XCTAssertEqual(SignatureProbe.scan(path: path).summary, "no known signature (libblkid)")
    }

    func testUnreadableIsNotProbed() {
        let scan = SignatureProbe.scan(path: "\(dir)/missing")
        guard case .notProbed = scan else { return XCTFail("\(scan)") }
        XCTAssertTrue(scan.summary.hasPrefix("not probed: "), scan.summary)
    }

    func testExt4WithItsLabelAndMagicOffset() throws {
        let path = try image("ext4", "mkfs.ext4", ["-q", "-F", "-L", "data"])
        let found = SignatureProbe.scan(path: path).found
        let ext4 = try XCTUnwrap(found.first { $0.type == "ext4" }, "\(found)")
        XCTAssertEqual(ext4.usage, "filesystem")
        XCTAssertEqual(ext4.label, "data")
        XCTAssertEqual(ext4.offset, 1080)
        XCTAssertTrue(ext4.description.hasPrefix("ext4 filesystem 'data'"), ext4.description)
    }

    func testSwapAndPartitionTable() throws {
        let swap = try image("swap", "mkswap", [])
        XCTAssertTrue(SignatureProbe.scan(path: swap).found.contains { $0.type == "swap" })
        let gpt = try image("gpt", "sfdisk", ["-q"], stdin: "label: gpt\n,\n")
        let found = SignatureProbe.scan(path: gpt).found
        XCTAssertTrue(found.contains { $0.type == "gpt" && $0.isPartitionTable }, "\(found)")
    }

    /// One of the families the old list of 8 magic numbers missed.
    func testFATIsFound() throws {
        let path = try image("fat", "mkfs.vfat", [])
        XCTAssertTrue(SignatureProbe.scan(path: path).found.contains { $0.type == "vfat" })
    }
}
