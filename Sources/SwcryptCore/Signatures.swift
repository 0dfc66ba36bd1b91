/// What is on a device already, from its first bytes: shown before a destructive
/// format so the admin sees what will be destroyed.
public enum Signatures {
    /// Bytes needed from the start of the device.
    public static let probeBytes = 69632

    public static func detect(_ b: [UInt8]) -> [String] {
        func at(_ offset: Int, _ magic: [UInt8]) -> Bool {
            offset + magic.count <= b.count && Array(b[offset..<offset + magic.count]) == magic
        }
        func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }
        var found = [String]()
        if at(0, [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]) {
            let version = b.count > 7 ? Int(b[6]) << 8 | Int(b[7]) : 0
            found.append("LUKS\(version) header")
        }
        if at(0, ascii("integrt")) { found.append("dm-integrity superblock") }
        if at(1080, [0x53, 0xef]) { found.append("ext2/3/4 filesystem") }
        if at(0, ascii("XFSB")) { found.append("XFS filesystem") }
        if at(65600, ascii("_BHRfS_M")) { found.append("btrfs filesystem") }
        if at(4086, ascii("SWAPSPACE2")) || at(4086, ascii("SWAP-SPACE")) { found.append("swap area") }
        if at(512, ascii("EFI PART")) || at(4096, ascii("EFI PART")) { found.append("GPT partition table") }
        else if at(510, [0x55, 0xaa]) && (0..<4).contains(where: { b.count > 446 + 16 * $0 + 4 && b[446 + 16 * $0 + 4] != 0 }) {
            found.append("MBR partition table")
        }
        return found
    }
}
