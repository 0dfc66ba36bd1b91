import SwcryptCore

/// `key list`: each keyslot with its PBKDF, priority and tokens, then the tokens.
public struct KeyslotListReport: Encodable {
    public struct Slot: Encodable {
        public var keyslot: Int
        public var pbkdf: String
        @ExplicitNull public var hash: String?
        /// Iterations (pbkdf2) or argon2's time cost.
        public var iterations: UInt32
        @ExplicitNull public var memoryKib: UInt32?
        @ExplicitNull public var threads: UInt32?
        public var priority: String
        public var tokens: [Int]
    }

    public struct Token: Encodable {
        public var token: Int
        public var type: String
        public var keyslots: [Int]
    }

    public var device: String
    public var keyslots: [Slot]
    public var tokens: [Token]

    public init(device: String, keyslots: [Keyslot], tokens: [LUKSToken]) {
        self.device = device
        self.keyslots = keyslots.map {
            Slot(keyslot: $0.number, pbkdf: $0.pbkdf, hash: $0.hash, iterations: $0.iterations, memoryKib: $0.memoryKiB,
                 threads: $0.threads, priority: $0.priority.rawValue, tokens: $0.tokens)
        }
        self.tokens = tokens.map { Token(token: $0.id, type: $0.type, keyslots: $0.keyslots) }
    }
}

extension KeyslotListReport: Report {
    public var lines: [String] {
        var l = ["\(device): \(keyslots.count) keyslot\(keyslots.count == 1 ? "" : "s")"]
        for s in keyslots {
            var cost = s.pbkdf == "pbkdf2" ? "pbkdf2 (\(s.hash ?? "?")), \(s.iterations) iterations"
                : "\(s.pbkdf), time cost \(s.iterations)"
            if let m = s.memoryKib { cost += ", \(m) KiB" }
            if let t = s.threads { cost += ", \(t) thread\(t == 1 ? "" : "s")" }
            let tokens = s.tokens.isEmpty ? "" : ", tokens " + s.tokens.map(String.init).joined(separator: ", ")
            l.append("  keyslot \(s.keyslot): \(cost), priority \(s.priority)\(tokens)")
        }
        return l + tokenLines
    }

    /// `token list`: a line per token.
    public var tokenLines: [String] {
        tokens.map { "  token \($0.token): \($0.type), keyslots " + ($0.keyslots.isEmpty ? "none" : $0.keyslots.map(String.init).joined(separator: ", ")) }
    }
}

/// `dump --json`: swcrypt's summary (as `dump` shows it) with the complete LUKS2
/// metadata beside it under `luks2`, as libcryptsetup dumps the header's JSON.
public struct DumpReport: Encodable {
    public var summary: VolumeReport
    public var luks2: JSONValue

    public init(summary: VolumeReport, metadata: JSONValue) {
        self.summary = summary
        self.luks2 = metadata
    }

    enum Key: String, CodingKey { case luks2 }

    public func encode(to encoder: Encoder) throws {
        try summary.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(luks2, forKey: .luks2)
    }
}

extension DumpReport: Report {
    public var lines: [String] { summary.lines }
}

/// `clevis list`: one line per binding, as `clevis luks list` prints it.
public struct ClevisListReport: Encodable {
    public struct Binding: Encodable {
        public var keyslot: Int
        public var token: Int
        /// `tang '{"url":"http://tang.example"}'`
        public var pin: String

        public init(keyslot: Int, token: Int, pin: String) {
            self.keyslot = keyslot
            self.token = token
            self.pin = pin
        }
    }

    public var device: String
    public var bindings: [Binding]

    public init(device: String, bindings: [Binding]) {
        self.device = device
        self.bindings = bindings
    }
}

extension ClevisListReport: Report {
    public var lines: [String] { bindings.map { "\($0.keyslot): \($0.pin)" } }
}
