/// A JSON document that keeps what Foundation's JSONSerialization loses: the order
/// of an object's keys and whether a number was written as an integer (`1`) or as a
/// float (`1.0`). The bench's run records pass through the report unchanged, and
/// its files are written as Python's `json` module wrote them before (`json.dump`
/// for a run, `json.dumps(indent=2)` for latest.json), so that they compare with
/// the records and reports made by the earlier script.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// A number as jq writes the result of arithmetic: integral values without a
    /// fraction (the earlier script's records hold `1`, not `1.0`).
    public static func number(_ x: Double?) -> JSONValue {
        guard let x else { return .null }
        if x == x.rounded(), abs(x) < 1e15 { return .int(Int(x)) }
        return .double(x)
    }

    public static func number(_ x: Int?) -> JSONValue { x.map(JSONValue.int) ?? .null }
    public static func string(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }

    /// The object with `key` set: replaced where it stands, or appended (Python's dict).
    public func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        if let i = members.firstIndex(where: { $0.0 == key }) {
            members[i].1 = value
        } else {
            members.append((key, value))
        }
        return .object(members)
    }
}

// MARK: - Writing, as Python's json module does (ensure_ascii, float repr)

extension JSONValue {
    /// `json.dumps(value)`: one line, ", " and ": " between items.
    public var compactText: String {
        var out = ""
        write(to: &out, indent: nil, level: 0)
        return out
    }

    /// `json.dumps(value, indent=2)`.
    public var indentedText: String {
        var out = ""
        write(to: &out, indent: 2, level: 0)
        return out
    }

    private func write(to out: inout String, indent: Int?, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += Self.pythonRepr(d)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            writeContainer(items.map { (nil, $0) }, open: "[", close: "]", to: &out, indent: indent, level: level)
        case .object(let members):
            writeContainer(members.map { ($0.0, $0.1) }, open: "{", close: "}", to: &out, indent: indent, level: level)
        }
    }

    private func writeContainer(_ items: [(String?, JSONValue)], open: String, close: String,
                                to out: inout String, indent: Int?, level: Int) {
        guard !items.isEmpty else { out += open + close; return }
        out += open
        let inner = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        for (n, (key, value)) in items.enumerated() {
            if n > 0 { out += indent == nil ? ", " : "," }
            if let inner { out += inner }
            if let key {
                Self.writeString(key, to: &out)
                out += ": "
            }
            value.write(to: &out, indent: indent, level: level + 1)
        }
        if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
        out += close
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for unit in s.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        out += "\""
    }

    /// Python's `repr(float)`: the shortest digits that read back as the same
    /// double (Swift's `description` finds the same ones), laid out fixed for
    /// decimal exponents -4 ... 15 and as `d.ddde+XX` outside, always with a point
    /// or an exponent.
    public static func pythonRepr(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x < 0 ? "-Infinity" : "Infinity" }
        if x == 0 { return x.sign == .minus ? "-0.0" : "0.0" }
        let text = x.magnitude.description
        let parts = text.split(separator: "e", maxSplits: 1)
        let exponent = parts.count == 2 ? Int(parts[1])! : 0
        let mantissa = parts[0].split(separator: ".", maxSplits: 1)
        var digits = Array(mantissa[0] + (mantissa.count == 2 ? mantissa[1] : ""))
        var point = mantissa[0].count + exponent     // value = 0.digits × 10^point
        while digits.first == "0" { digits.removeFirst(); point -= 1 }
        while digits.last == "0" { digits.removeLast() }
        let sign = x < 0 ? "-" : ""
        let all = String(digits)
        if point <= -4 || point > 16 {
            let e = point - 1
            let e2 = String(abs(e))
            let mant = digits.count > 1 ? "\(digits[0]).\(all.dropFirst())" : all
            return "\(sign)\(mant)e\(e < 0 ? "-" : "+")\(e2.count < 2 ? "0" + e2 : e2)"
        }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + all }
        if point >= digits.count { return sign + all + String(repeating: "0", count: point - digits.count) + ".0" }
        return sign + all.prefix(point) + "." + all.dropFirst(point)
    }
}

// MARK: - Reading

extension JSONValue {
    public struct ParseError: Error, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "JSON: \(reason) at byte \(offset)" }
    }

    public init(parsing text: String) throws {
        var parser = Parser(bytes: Array(text.utf8))
        self = try parser.document()
    }

    public init(parsing bytes: [UInt8]) throws {
        var parser = Parser(bytes: bytes)
        self = try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ reason: String) -> ParseError { ParseError(offset: i, reason: reason) }

        mutating func document() throws -> JSONValue {
            let v = try value()
            skipSpace()
            guard i == bytes.count else { throw fail("text after the document") }
            return v
        }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func literal(_ word: String, _ v: JSONValue) throws -> JSONValue {
            let w = Array(word.utf8)
            guard bytes.count - i >= w.count, Array(bytes[i..<i + w.count]) == w else { throw fail("expected \(word)") }
            i += w.count
            return v
        }

        mutating func value() throws -> JSONValue {
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "N"): return try literal("NaN", .double(.nan))
            case UInt8(ascii: "I"): return try literal("Infinity", .double(.infinity))
            default: return try number()
            }
        }

        mutating func object() throws -> JSONValue {
            i += 1
            var members: [(String, JSONValue)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                members.append((key, try value()))
                if try endOfList(UInt8(ascii: "}")) { return .object(members) }
            }
        }

        mutating func array() throws -> JSONValue {
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try value())
                if try endOfList(UInt8(ascii: "]")) { return .array(items) }
            }
        }

        /// After an item: true at the closing bracket, false after a comma.
        mutating func endOfList(_ close: UInt8) throws -> Bool {
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end") }
            if bytes[i] == close { i += 1; return true }
            guard bytes[i] == UInt8(ascii: ",") else { throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'") }
            i += 1
            return false
        }

        mutating func string() throws -> String {
            i += 1
            var units: [UInt16] = []
            var raw: [UInt8] = []
            func flush() { units += String(decoding: raw, as: UTF8.self).utf16; raw.removeAll() }
            while true {
                guard i < bytes.count else { throw fail("unterminated string") }
                let b = bytes[i]
                i += 1
                if b == UInt8(ascii: "\"") { break }
                guard b == UInt8(ascii: "\\") else { raw.append(b); continue }
                flush()
                guard i < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): units.append(0x0A)
                case UInt8(ascii: "t"): units.append(0x09)
                case UInt8(ascii: "r"): units.append(0x0D)
                case UInt8(ascii: "b"): units.append(0x08)
                case UInt8(ascii: "f"): units.append(0x0C)
                case UInt8(ascii: "u"):
                    guard bytes.count - i >= 4, let u = UInt16(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16)
                    else { throw fail("bad \\u escape") }
                    units.append(u)
                    i += 4
                default: units.append(UInt16(e))   // \" \\ \/
                }
            }
            flush()
            return String(decoding: units, as: UTF16.self)
        }

        mutating func number() throws -> JSONValue {
            let start = i
            var isFloat = false
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                    isFloat = true
                } else if !(b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || (b >= 0x30 && b <= 0x39)) {
                    break
                }
                i += 1
            }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if !isFloat, let n = Int(text) { return .int(n) }
            guard let d = Double(text) else { i = start; throw fail("bad number '\(text)'") }
            return .double(d)
        }
    }
}

// MARK: - Inside a report (swcrypt's own encoder: `dump --json` embeds the LUKS2 metadata)

extension JSONValue: Encodable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .object(let members):
            var c = encoder.container(keyedBy: Key.self)
            for (k, v) in members { try c.encode(v, forKey: Key(stringValue: k)) }
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for v in items { try c.encode(v) }
        case .null:
            var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer(); try c.encode(b)
        case .int(let i):
            var c = encoder.singleValueContainer(); try c.encode(i)
        case .double(let d):
            var c = encoder.singleValueContainer(); try c.encode(d)
        case .string(let s):
            var c = encoder.singleValueContainer(); try c.encode(s)
        }
    }
}
