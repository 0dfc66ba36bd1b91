import Foundation
import SwcryptCore
import SwcryptKit

/// `scrub`: what was read, and each range of damaged blocks with what owns it.
public struct ScrubReport: Encodable {
    public struct Range: Encodable {
        /// Byte offset in the volume, and the same as a block number of the volume.
        public var offset: UInt64
        public var block: UInt64
        public var blocks: Int
        /// "authentication" (the data does not match its tag) or "read-error".
        public var cause: String
        /// "file", "directory", "filesystem metadata", "free space", "unknown".
        public var owner: String
        @ExplicitNull public var path: String?
        @ExplicitNull public var reason: String?
        /// The raw device's logical block (inline volumes); null for dm-integrity's layout.
        @ExplicitNull public var rawBlock: UInt64?
        public var rewritten: Bool
    }

    public var volume: String
    public var uuid: String
    public var device: String
    public var tags: String
    public var volumeBytes: UInt64
    public var blockBytes: Int
    public var resumedAt: UInt64
    public var position: UInt64
    public var seconds: Double
    public var completed: Bool
    @ExplicitNull public var filesystem: String?
    @ExplicitNull public var mountPoint: String?
    public var damagedBlocks: Int
    public var ranges: [Range]

    public init(_ r: ScrubResult) {
        volume = "/dev/mapper/\(r.name)"
        uuid = r.uuid
        device = r.device
        tags = r.layout.tagsName
        volumeBytes = r.volumeBytes
        blockBytes = r.blockBytes
        resumedAt = r.resumedAt
        position = r.position
        seconds = (r.seconds * 10).rounded() / 10
        completed = r.completed
        filesystem = r.filesystem
        mountPoint = r.mountPoint
        damagedBlocks = r.damagedBlocks
        ranges = r.ranges.map {
            var reason: String?
            if case .unknown(let why) = $0.owner { reason = why }
            return Range(offset: $0.offset, block: $0.offset / UInt64(r.blockBytes), blocks: $0.blocks, cause: $0.cause.rawValue,
                         owner: $0.owner.kind, path: $0.owner.path, reason: reason, rawBlock: $0.rawBlock, rewritten: $0.rewritten)
        }
    }
}

extension ScrubReport: Report {
    public var lines: [String] {
        let read = position - resumedAt
        let rate = seconds > 0 ? String(format: " (%.1f MiB/s)", Double(read) / 1_048_576 / seconds) : ""
        let from = resumedAt > 0 ? ", going on from \(formatMiB(resumedAt)) where the last scrub stopped" : ""
        var l = ["\(volume) (LUKS2 \(uuid) on \(device), tags \(tags)): read \(formatMiB(read)) of \(formatMiB(volumeBytes))\(from) in \(String(format: "%.1f", seconds)) s\(rate)"]
        if !completed {
            l.append("  interrupted at byte \(position) of \(volumeBytes) (\(String(format: "%.1f", 100 * Double(position) / Double(max(volumeBytes, 1))))%); the next scrub of this volume goes on from there (--restart to start over)")
        }
        if filesystem != nil || mountPoint != nil {
            l.append("  filesystem: \(filesystem ?? "?") on \(mountPoint ?? "?")")
        }
        if damagedBlocks == 0 {
            l.append(completed ? "  no damaged block: every \(blockBytes)-byte block read and authenticated" : "  no damaged block so far")
            return l
        }
        l.append("  damaged: \(damagedBlocks) block\(damagedBlocks == 1 ? "" : "s") of \(blockBytes) bytes in \(ranges.count) range\(ranges.count == 1 ? "" : "s")")
        for r in ranges {
            let raw = r.rawBlock.map { ", raw block \($0)" } ?? ""
            let what = r.cause == "authentication" ? "authentication failed" : "read error"
            var owner = r.owner
            if let p = r.path { owner += " \(p)" }
            if let why = r.reason { owner += " (\(why))" }
            let fixed = r.rewritten ? "; rewritten with zeros, reads again" : ""
            l.append("  block \(r.block) (byte \(r.offset)), \(r.blocks) block\(r.blocks == 1 ? "" : "s")\(raw): \(what): \(owner)\(fixed)")
        }
        return l
    }
}
