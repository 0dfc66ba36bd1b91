/// Names and dm UUIDs of the mappings swcrypt makes. Every layer carries a UUID
/// `SWCRYPT-<LAYER>-<stack id>-<name>` (like cryptsetup's `CRYPT-...`), so whole
/// stacks can be found and removed, and nothing swcrypt did not create is touched.
public enum StackNaming {
    public static let prefix = "SWCRYPT-"
    /// device-mapper's limit (DM_NAME_LEN 128, including the NUL).
    static let maxNameLength = 127
    static let maxUUIDLength = 128
    /// Suffix of the dm-integrity layer beneath a dm-crypt mapping (as cryptsetup's).
    public static let integritySuffix = "_dif"

    public enum Layer: String, Sendable, CaseIterable {
        case crypt = "CRYPT", integrity = "INTEGRITY", linear = "LINEAR", flakey = "FLAKEY", table = "TABLE"
    }

    public struct Parsed: Equatable, Sendable {
        public var layer: Layer
        public var stack: String
        public var name: String
    }

    /// Checks a mapping name the user gave; one line naming the problem.
    public static func validate(name: String) throws(SwcryptError) {
        func bad(_ why: String) -> SwcryptError { SwcryptError(.failure, device: name.isEmpty ? "(empty name)" : name, "bad mapping name: \(why)") }
        if name.isEmpty { throw bad("empty") }
        if name.utf8.count > maxNameLength - integritySuffix.count {
            throw bad("\(name.utf8.count) bytes; device-mapper allows \(maxNameLength), and swcrypt needs room for '\(integritySuffix)'")
        }
        if name.contains("/") { throw bad("contains '/'") }
        if name == "." || name == ".." { throw bad("'.' and '..' are not names") }
        if let c = name.unicodeScalars.first(where: { !($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.+:@".unicodeScalars.contains($0))) }) {
            throw bad("character '\(c)' is not allowed (letters, digits and - _ . + : @)")
        }
    }

    public static func uuid(layer: Layer, stack: String, name: String) -> String {
        String("\(prefix)\(layer.rawValue)-\(stack)-\(name)".prefix(maxUUIDLength))
    }

    public static func parse(uuid: String) -> Parsed? {
        guard uuid.hasPrefix(prefix) else { return nil }
        let rest = uuid.dropFirst(prefix.count)
        let parts = rest.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let layer = Layer(rawValue: String(parts[0])), parts[1].count == 16,
              parts[1].allSatisfy(\.isHexDigit) else { return nil }
        return Parsed(layer: layer, stack: String(parts[1]), name: String(parts[2]))
    }

    /// A fresh 16-hex-digit stack id.
    public static func newStackID() -> String {
        var rng = SystemRandomNumberGenerator()
        let v = rng.next() as UInt64
        let hex = String(v, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
