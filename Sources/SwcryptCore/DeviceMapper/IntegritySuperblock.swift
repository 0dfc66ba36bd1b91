/// dm-integrity's on-disk superblock (drivers/md/dm-integrity.c, `struct
/// superblock`), the fields swcrypt reads: the kernel formats only an all-zero
/// superblock, so one left by an earlier mapping is reused when it describes the
/// same geometry and zeroed otherwise.
public struct IntegritySuperblock: Equatable, Sendable {
    /// `magic[8]`: "integrt\0".
    static let magic = Array("integrt".utf8) + [0]
    /// SB_FLAG_DIRTY_BITMAP and SB_FLAG_INLINE.
    static let dirtyBitmapFlag: UInt32 = 0x4, inlineFlag: UInt32 = 0x20

    /// `integrity_tag_size` (le16 at byte 10).
    public var tagSize: Int
    /// `log2_sectors_per_block` (u8 at byte 28), as bytes per block.
    public var blockBytes: Int
    /// `flags` (le32 at byte 24).
    public var flags: UInt32

    /// nil when the bytes do not start with the magic (no superblock there).
    public init?(bytes sb: [UInt8]) {
        guard sb.count >= 29, Array(sb[0..<8]) == Self.magic, sb[28] < 16 else { return nil }
        tagSize = Int(sb[10]) | Int(sb[11]) << 8
        flags = UInt32(sb[24]) | UInt32(sb[25]) << 8 | UInt32(sb[26]) << 16 | UInt32(sb[27]) << 24
        blockBytes = (1 << Int(sb[28])) * 512
    }

    /// The same tag size, block size and mode (bitmap and inline are flags).
    public func matches(_ t: IntegrityTarget) -> Bool {
        tagSize == t.tagSize && blockBytes == (t.blockSize ?? 512)
            && (flags & Self.dirtyBitmapFlag != 0) == (t.mode == .bitmap)
            && (flags & Self.inlineFlag != 0) == (t.mode == .inline)
    }
}
