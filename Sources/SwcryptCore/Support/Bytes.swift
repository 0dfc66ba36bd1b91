/// Little-endian field readers for fixed-layout structures (NVMe identify data).
/// Reads past the end yield zero, so a short buffer never traps.
struct LittleEndianReader {
    let bytes: [UInt8]

    func u8(_ offset: Int) -> UInt8 {
        offset >= 0 && offset < bytes.count ? bytes[offset] : 0
    }

    func u16(_ offset: Int) -> UInt16 {
        UInt16(u8(offset)) | UInt16(u8(offset + 1)) << 8
    }

    func u32(_ offset: Int) -> UInt32 {
        UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16
    }

    func u64(_ offset: Int) -> UInt64 {
        UInt64(u32(offset)) | UInt64(u32(offset + 4)) << 32
    }

    func ascii(_ offset: Int, _ length: Int) -> String {
        let slice = (offset..<offset + length).map { u8($0) }
        let text = String(decoding: slice.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        return text.trimmingTrailingSpaces()
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " { s = s.dropLast() }
        return String(s)
    }
}
