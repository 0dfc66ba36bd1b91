/// What libcryptsetup found in each copy of a LUKS2 header while reading it, and
/// whether it rewrote one copy from the other.
///
/// libcryptsetup says why it refuses a header only in its debug log (the JSON
/// validators' `log_dbg` lines, e.g. `Keyslots section "" is missing "3" (object)
/// specification.`); at error level it gives nothing, and cryptsetup prints just
/// "Device X is not a valid LUKS device.". It also repairs silently: when one copy
/// is damaged and the other is valid, `crypt_load` writes the valid copy over the
/// damaged one ("Primary LUKS2 header requires recovery."), even for a dump. This
/// reads one `crypt_load`'s debug lines (the last read pass: a first pass under a
/// read lock can fail to write the repair and is retried under the write lock) so
/// that an error can name each copy's fault and a repair can be reported.
public struct HeaderReadDiagnosis: Sendable, Equatable {
    public enum Copy: String, Sendable, Equatable { case primary, secondary }

    public enum State: Sendable, Equatable {
        /// The copy was read, its checksum matched and its JSON passed validation.
        case valid
        /// No LUKS2 binary header (magic, version) where the copy should be.
        case notFound
        /// The stored checksum does not match the copy's bytes.
        case checksumMismatch
        /// Read and checksummed, then refused; the validators' reasons, in order.
        case invalid([String])
        /// The load ended before this copy was examined.
        case notExamined
    }

    public var primary: State = .notExamined
    public var secondary: State = .notExamined
    /// The copy libcryptsetup rewrote from the other one, when the rewrite succeeded.
    public var repaired: Copy?
    /// The copy libcryptsetup tried and failed to rewrite (the device not writable).
    public var repairFailed: Copy?

    public init(primary: State = .notExamined, secondary: State = .notExamined, repaired: Copy? = nil, repairFailed: Copy? = nil) {
        self.primary = primary; self.secondary = secondary; self.repaired = repaired; self.repairFailed = repairFailed
    }

    /// Lines of libcryptsetup's own bookkeeping inside a copy's section: not reasons.
    static let noise = [
        "Reusing open", "LUKS2 header version", "Checksum:", "Repairing JSON metadata.", "ERROR: LUKS2 validation failed",
        "LUKS2 requirements detected:", "Opening locked device", "Verifying lock", "Acquiring", "Device ", "Trying to open",
        "Direct-io", "Blkid probe", "Trying to write", "Cannot open",
    ]

    /// hdr_disk_sanity_check_pre's refusals: the magic was there, the binary
    /// header is not usable (logged before, and instead of, "LUKS2 header version").
    static let binaryHeaderRefusals = [
        "Unsupported LUKS2 header version", "LUKS2 offset ", "LUKS2 header has bogus size",
    ]

    /// Parses the debug lines of one `crypt_load`, in order. Nil when they hold no
    /// LUKS2 read at all (another failure, or libcryptsetup's debug log was off).
    public init?(debugLines lines: [String]) {
        guard let start = lines.lastIndex(where: { $0.hasPrefix("Trying to read primary LUKS2 header") }) else { return nil }
        var current: Copy? = .primary
        var found = false, checksum = false, refused = false, reasons: [String] = []
        var primary = State.notExamined, secondary = State.notExamined
        var requirementLines = false
        func close() {
            guard let copy = current else { return }
            // Some validators refuse without a debug line of their own.
            let state: State = !found ? .notFound : checksum ? .checksumMismatch
                : !reasons.isEmpty ? .invalid(reasons) : refused ? .invalid(["libcryptsetup's validation gave no reason"]) : .valid
            if copy == .primary { primary = state } else { secondary = state }
        }
        func reset() { found = false; checksum = false; refused = false; reasons = []; requirementLines = false }
        var repaired: Copy?, repairFailed: Copy?, pending: Copy?, recoveryDisabled = false
        for line in lines[(start + 1)...] {
            if line.hasPrefix("Trying to read secondary LUKS2 header") {
                // When the primary has no magic, libcryptsetup probes every known
                // secondary offset in turn; the last probe is the secondary's state.
                // Keep the first probe that found a header.
                close()
                if secondary != .notFound, secondary != .notExamined { current = nil; continue }
                current = .secondary; reset(); continue
            }
            if line.hasSuffix("LUKS2 header requires recovery.") {
                close(); current = nil
                pending = line.hasPrefix("Primary") ? .primary : .secondary
                continue
            }
            if line.hasSuffix("LUKS2 header recovery failed.") { repairFailed = pending; pending = nil; continue }
            if line.hasPrefix("Disabling header auto-recovery") { recoveryDisabled = true; continue }
            if line.hasPrefix("LUKS2 header read failed") || line.hasPrefix("Device size") { close(); current = nil; continue }
            guard current != nil else { continue }
            if line.hasPrefix("LUKS2 header version") { found = true }
            if Self.binaryHeaderRefusals.contains(where: { line.hasPrefix($0) }) {
                found = true; refused = true
                if !reasons.contains(line) { reasons.append(line) }
                continue
            }
            if line.hasPrefix("LUKS2 header checksum error") { checksum = true; continue }
            // libcryptsetup validates again after repairing the JSON in memory: the
            // reasons of the first pass count only if the second pass logs them too.
            if line == "Repairing JSON metadata." { reasons = []; continue }
            if line.hasPrefix("ERROR: LUKS2 validation failed") { refused = true; continue }
            if line == "LUKS2 requirements detected:" { requirementLines = true; continue }
            if requirementLines, line.contains(" - ") { continue }
            if Self.noise.contains(where: { line.hasPrefix($0) }) { continue }
            if found, !reasons.contains(line) { reasons.append(line) }
        }
        close()
        if let p = pending, repairFailed == nil {
            if recoveryDisabled { repairFailed = p } else { repaired = p }
        }
        self.init(primary: primary, secondary: secondary, repaired: repaired, repairFailed: repairFailed)
    }

    /// At least one copy was refused or missing (else the read failed for another
    /// reason, after both copies were read: a device too small, ambiguous signatures).
    public var copyFailed: Bool { primary != .valid || secondary != .valid }

    /// Neither copy has LUKS2 magic: not a LUKS2 header at all.
    public var noHeader: Bool { primary == .notFound && (secondary == .notFound || secondary == .notExamined) }

    /// The reason of one copy, as a phrase.
    public static func describe(_ state: State) -> String {
        switch state {
        case .valid: return "valid"
        case .notFound: return "no LUKS2 header"
        case .checksumMismatch: return "checksum mismatch"
        case .invalid(let reasons): return "refused: " + reasons.joined(separator: " ").trimmingTrailingDot
        case .notExamined: return "not examined"
        }
    }

    /// "primary copy: checksum mismatch; secondary copy: refused: ..." (one line).
    public var summary: String {
        "primary copy: \(Self.describe(primary)); secondary copy: \(Self.describe(secondary))"
    }

    /// The warning to give after a successful read that repaired a copy.
    public var repairWarning: String? {
        if let copy = repaired {
            let damaged = copy == .primary ? primary : secondary
            let other = copy == .primary ? "secondary" : "primary"
            if damaged == .valid {
                return "the \(copy.rawValue) LUKS2 header copy was older than the \(other) (an interrupted metadata update?); libcryptsetup rewrote it from the \(other) copy"
            }
            return "the \(copy.rawValue) LUKS2 header copy was damaged (\(Self.describe(damaged))); libcryptsetup rewrote it from the \(other) copy"
        }
        if let copy = repairFailed {
            let damaged = copy == .primary ? primary : secondary
            return "the \(copy.rawValue) LUKS2 header copy is damaged (\(Self.describe(damaged))) and could not be rewritten here (read-only?); the volume works from the other copy"
        }
        return nil
    }
}

extension String {
    fileprivate var trimmingTrailingDot: String { hasSuffix(".") ? String(dropLast()) : self }
}
