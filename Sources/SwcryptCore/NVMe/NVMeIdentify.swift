/// One LBA format descriptor of an NVMe namespace (Identify Namespace, bytes 128+4n).
public struct LBAFormat: Equatable, Sendable, Codable {
    public var index: Int
    /// Metadata bytes per logical block.
    public var ms: Int
    /// log2 of the data size; 0 means the format is not supported.
    public var lbads: Int
    /// Relative performance, 0 (best) to 3 (degraded).
    public var rp: Int

    public init(index: Int, ms: Int, lbads: Int, rp: Int) {
        self.index = index
        self.ms = ms
        self.lbads = lbads
        self.rp = rp
    }

    /// Data bytes per logical block (0 for an unusable descriptor).
    public var dataSize: Int { lbads >= 9 && lbads < 32 ? 1 << lbads : 0 }

    /// "4096+64", the notation used throughout swcrypt.
    public var geometry: String { "\(dataSize)+\(ms)" }
}

/// The fields of Identify Namespace (CNS 0x00) that swcrypt uses. Parsed from the
/// raw 4096-byte structure so the parser is testable with captured data.
public struct IdentifyNamespace: Equatable, Sendable {
    public static let size = 4096
    var nsze: UInt64
    var ncap: UInt64
    var nuse: UInt64
    var nsfeat: UInt8
    /// Number of LBA formats, zero-based (as in the spec and nvme-cli).
    public var nlbaf: UInt8
    public var flbas: UInt8
    var mc: UInt8
    public var dpc: UInt8
    var dps: UInt8
    /// Number of unique-attribute LBA formats beyond the first 16.
    var nulbaf: UInt8
    public var lbafs: [LBAFormat]

    public init(bytes: [UInt8]) throws(SwcryptError) {
        guard bytes.count >= 384 else {
            throw SwcryptError(.failure, "Identify Namespace data too short: \(bytes.count) bytes")
        }
        let r = LittleEndianReader(bytes: bytes)
        nsze = r.u64(0)
        ncap = r.u64(8)
        nuse = r.u64(16)
        nsfeat = r.u8(24)
        nlbaf = r.u8(25)
        flbas = r.u8(26)
        mc = r.u8(27)
        dpc = r.u8(28)
        dps = r.u8(29)
        nulbaf = r.u8(82)
        // nlbaf is zero-based and at most 63 (NVMe 2.0: up to 64 formats in 128..383).
        let count = min(Int(nlbaf) + Int(nulbaf) + 1, 64)
        lbafs = (0..<count).map { i in
            let base = 128 + 4 * i
            return LBAFormat(index: i, ms: Int(r.u16(base)), lbads: Int(r.u8(base + 2)),
                             rp: Int(r.u8(base + 3) & 0x3))
        }
    }

    /// The in-use format index: FLBAS bits 3:0, plus bits 6:5 as index bits 5:4.
    public var inUseIndex: Int {
        Int(flbas & 0x0f) | (Int(flbas & 0x60) >> 1)
    }

    /// FLBAS bit 4: metadata transferred at the end of the data LBA (extended LBA).
    var extendedLBA: Bool { flbas & 0x10 != 0 }

    /// Protection information type enabled (DPS bits 2:0); 0 = none.
    public var protectionType: Int { Int(dps & 0x7) }

    public var inUse: LBAFormat? {
        lbafs.indices.contains(inUseIndex) ? lbafs[inUseIndex] : nil
    }

    /// The lines of `nvme id-ns` (nvme-cli, normal output) that swcrypt reproduces
    /// byte for byte: the heading, the size/format fields, and one line per format.
    public func nvmeCLIHeaderLines(nsid: UInt32) -> [String] {
        [
            "NVME Identify Namespace \(nsid):",
            "nsze    : \(hexC(nsze))",
            "ncap    : \(hexC(ncap))",
            "nuse    : \(hexC(nuse))",
            "nsfeat  : \(hexC(UInt64(nsfeat)))",
            "nlbaf   : \(nlbaf)",
            "flbas   : \(hexC(UInt64(flbas)))",
            "mc      : \(hexC(UInt64(mc)))",
            "dpc     : \(hexC(UInt64(dpc)))",
            "dps     : \(hexC(UInt64(dps)))",
        ]
    }

    /// `lbaf %2d : ms:%-3d lbads:%-2d rp:%#x %s` as nvme-cli prints it (note the
    /// trailing space on formats not in use).
    public func nvmeCLILBAFLines() -> [String] {
        lbafs.map { f in
            "lbaf " + leftPad(String(f.index), 2) + " : ms:" + rightPad(String(f.ms), 3)
                + " lbads:" + rightPad(String(f.lbads), 2) + " rp:" + hexC(UInt64(f.rp)) + " "
                + (f.index == inUseIndex ? "(in use)" : "")
        }
    }
}

/// The fields of Identify Controller (CNS 0x01) that swcrypt uses.
public struct IdentifyController: Equatable, Sendable {
    public var serial: String
    public var model: String
    var firmware: String
    /// Number of namespaces (NN).
    var nn: UInt32
    /// Format NVM Attributes.
    public var fna: UInt8

    public init(bytes: [UInt8]) throws(SwcryptError) {
        guard bytes.count >= 528 else {
            throw SwcryptError(.failure, "Identify Controller data too short: \(bytes.count) bytes")
        }
        let r = LittleEndianReader(bytes: bytes)
        serial = r.ascii(4, 20)
        model = r.ascii(24, 40)
        firmware = r.ascii(64, 8)
        nn = r.u32(516)
        fna = r.u8(524)
    }

    /// FNA bit 0: a format applies to all namespaces of the controller.
    public var formatAppliesToAllNamespaces: Bool { fna & 0x1 != 0 }
    /// FNA bit 1: secure erase applies to all namespaces.
    var secureEraseAppliesToAllNamespaces: Bool { fna & 0x2 != 0 }
    /// FNA bit 2: cryptographic erase is supported.
    public var cryptoEraseSupported: Bool { fna & 0x4 != 0 }
}

/// printf's `%#x`: 0 prints as "0", anything else as "0x..." in lower case.
public func hexC(_ value: UInt64) -> String {
    value == 0 ? "0" : "0x" + String(value, radix: 16)
}

func leftPad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

func rightPad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}
