import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

extension IntegrityTarget.Mode: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "j", "journal": self = .journal
        case "b", "bitmap": self = .bitmap
        case "d", "direct", "no-journal": self = .direct
        case "r", "recovery": self = .recovery
        case "i", "inline": self = .inline
        default: return nil
        }
    }
    public static var allValueStrings: [String] { ["J", "B", "D", "R", "I"] }
}

struct MapIntegrity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integrity",
        abstract: "dm-integrity in any mode: J journal, B bitmap, D direct, R recovery, I inline (tags in the device's metadata, Linux 6.11+).")

    @Argument var name: String
    @Argument var device: String
    @Option(help: "J, B, D, R or I.") var mode: IntegrityTarget.Mode
    @Option(help: "Tag bytes per block (default: the internal hash's size).") var tagSize: Int?
    @Option(help: "Checksum kept by dm-integrity itself: crc32c, sha256, ...") var internalHash: String?
    @Option var blockSize: Int?
    @Option var journalSectors: Int?
    @Option var interleaveSectors: Int?
    @Option var bufferSectors: Int?
    @Option var journalWatermark: Int?
    @Option var commitTime: Int?
    @Option var sectorsPerBit: Int?
    @Option var bitmapFlushInterval: Int?
    @Flag var allowDiscards = false
    @Flag var recalculate = false
    @Flag var fixHmac = false
    @OptionGroup var common: MapCommon

    func run() throws {
        common.global.apply()
        var t = IntegrityTarget(device: device, tagSize: tagSize ?? 0, mode: mode)
        t.internalHash = internalHash
        t.blockSize = blockSize
        t.journalSectors = journalSectors
        t.interleaveSectors = interleaveSectors
        t.bufferSectors = bufferSectors
        t.journalWatermark = journalWatermark
        t.commitTime = commitTime
        t.sectorsPerBit = sectorsPerBit
        t.bitmapFlushInterval = bitmapFlushInterval
        t.allowDiscards = allowDiscards
        t.recalculate = recalculate
        t.fixHmac = fixHmac
        var r = IntegrityMapRequest(name: name, device: device, target: t)
        r.readOnly = common.readOnly
        let mapper = try Mapper.privileged()
        try MapOutput.finish(try mapper.planIntegrity(r), mapper, common)
    }
}
