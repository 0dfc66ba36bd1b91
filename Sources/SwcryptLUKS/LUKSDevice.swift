// The only file in swcrypt that talks to libcryptsetup. Nothing from CCryptsetup
// leaves this module.
internal import CCryptsetup
import SwcryptCore
import SwcryptKeys
import SwcryptSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A failed libcryptsetup call: operation, device, errno and what the library said.
public struct LUKSError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var device: String
    public var errno: Errno
    public var messages: [String]
    /// What the kernel logged (device-mapper, dm-crypt, dm-integrity, nvme) during the call.
    public var kernelMessages: [String] = []
    /// For a failed header read: what libcryptsetup found in each copy.
    public var header: HeaderReadDiagnosis?

    /// The kernel's own reason, when it gave one.
    public var kernelReason: String? { KernelLogWindow.reason(kernelMessages) }

    public var description: String {
        "\(operation) \(device) failed: \(errno.description)" + (messages.last.map { " (\($0))" } ?? "")
            + (kernelReason.map { " (kernel: \($0))" } ?? "")
    }
}

public struct LUKSFormatParameters: Sendable {
    public var cipher: CipherSpec
    /// nil: no integrity.
    public var integrity: IntegrityAlgorithm?
    public var keyBytes: Int
    public var sectorSize: Int
    public var layout: IntegrityLayout
    public var pbkdf = PBKDFChoice()
    public var label: String?
    public var subsystem: String?

    public init(cipher: CipherSpec, integrity: IntegrityAlgorithm?, keyBytes: Int, sectorSize: Int,
                layout: IntegrityLayout) {
        self.cipher = cipher
        self.integrity = integrity
        self.keyBytes = keyBytes
        self.sectorSize = sectorSize
        self.layout = layout
    }
}

/// libcryptsetup.h defines its flags with `UINT32_C(1) << n`, which Swift does not
/// import; these are the same values (part of the library's stable ABI).
enum Flag {
    static let activateReadOnly: UInt32 = 1 << 0          // Flag.activateReadOnly
    static let activatePrivate: UInt32 = 1 << 4           // Flag.activatePrivate
    static let activateNoJournal: UInt32 = 1 << 12        // Flag.activateNoJournal
    static let activateAllowDiscards: UInt32 = 1 << 3     // CRYPT_ACTIVATE_ALLOW_DISCARDS
    static let activateSameCPUCrypt: UInt32 = 1 << 6      // CRYPT_ACTIVATE_SAME_CPU_CRYPT
    static let activateSubmitFromCryptCPUs: UInt32 = 1 << 7  // CRYPT_ACTIVATE_SUBMIT_FROM_CRYPT_CPUS
    static let activateNoReadWorkqueue: UInt32 = 1 << 24  // CRYPT_ACTIVATE_NO_READ_WORKQUEUE
    static let activateNoWriteWorkqueue: UInt32 = 1 << 25 // CRYPT_ACTIVATE_NO_WRITE_WORKQUEUE
    static let activateHighPriority: UInt32 = 1 << 28     // CRYPT_ACTIVATE_HIGH_PRIORITY
    static let requirementInlineHWTags: UInt32 = 1 << 3   // Flag.requirementInlineHWTags
    static let pbkdfNoBenchmark: UInt32 = 1 << 1          // Flag.pbkdfNoBenchmark
    /// CRYPT_REQUIREMENT_* and the names LUKS2 metadata gives them.
    static let requirementNames: [(UInt32, String)] = [
        (1 << 0, "offline-reencrypt"), (1 << 1, "online-reencrypt"), (1 << 2, "opal"),
        (requirementInlineHWTags, "inline-hw-tags"), (1 << 31, "unknown"),
    ]
}

/// libcryptsetup itself, not one device.
public enum LUKSLibrary {
    /// The version of the library loaded at run time, e.g. "2.8.8"; nil when it
    /// could not be learnt. libcryptsetup has no version call (there is no
    /// `crypt_get_version`); it states its version once per process, in a debug
    /// line, when its crypto backend initialises: "Crypto backend (...) initialized
    /// in cryptsetup library version 2.8.8." This provokes that line with a context
    /// on no device (`crypt_init(NULL)` + `crypt_set_pbkdf_type(NULL)`, which touches
    /// nothing) and reads the version from it. It must run before anything else in
    /// the process uses libcryptsetup, or the line has already gone by (nil then).
    public static let version: String? = {
        _ = LUKSDevice.installLogHook
        let mark = Diagnostics.shared.count
        crypt_set_debug_level(CRYPT_DEBUG_ALL)
        var handle: OpaquePointer?
        if crypt_init(&handle, nil) == 0, let handle {
            _ = crypt_set_pbkdf_type(handle, nil)
            crypt_free(handle)
        }
        crypt_set_debug_level(CRYPT_DEBUG_NONE)
        let marker = "cryptsetup library version "
        for entry in Diagnostics.shared.entries(since: mark) where entry.source == "libcryptsetup" {
            guard let range = entry.message.firstRange(of: marker) else { continue }
            let rest = entry.message[range.upperBound...]
            let version = rest.prefix { !$0.isWhitespace }
            return String(version.hasSuffix(".") ? version.dropLast() : version)
        }
        return nil
    }()

    /// The file the library was loaded from (e.g. /usr/lib/swcrypt/libcryptsetup.so.12
    /// for the package's private copy), as the dynamic loader resolved it.
    public static var path: String? {
        guard let program = dlopen(nil, RTLD_NOW) else { return nil }
        defer { dlclose(program) }
        guard let symbol = dlsym(program, "crypt_init") else { return nil }
        return loadedObjectPath(of: symbol)
    }

    /// libcryptsetup's own LUKS2 metadata locking, for the whole process. Turned off
    /// only while swcrypt holds the same lock itself (`DeviceLock`).
    public static func setMetadataLocking(_ enabled: Bool) {
        _ = crypt_metadata_locking(nil, enabled ? 1 : 0)
    }

    /// Whether the loaded library has `crypt_format_inline` (LUKS2 with inline HW
    /// tags, libcryptsetup 2.8): looked up in the process's global symbol scope.
    public static var hasInlineHWTags: Bool {
        guard let program = dlopen(nil, RTLD_NOW) else { return false }
        defer { dlclose(program) }
        return dlsym(program, "crypt_format_inline") != nil
    }
}

/// One `struct crypt_device *`, owned here and freed exactly once.
public final class LUKSDevice {
    var cd: OpaquePointer?
    public let device: String

    /// Routes libcryptsetup's log (all contexts) into the diagnostics sink, once.
    static let installLogHook: Void = {
        crypt_set_log_callback(nil, { level, message, _ in
            guard let message else { return }
            var text = String(cString: message)
            while text.hasSuffix("\n") { text.removeLast() }
            let l: Diagnostics.Level = level == CRYPT_LOG_ERROR ? .error : level == CRYPT_LOG_NORMAL ? .info : .debug
            Diagnostics.shared.log(l, "libcryptsetup", text)
        }, nil)
    }()

    /// Whether the user asked for libcryptsetup's debug log (`--debug`).
    nonisolated(unsafe) static var debugRequested = false

    public static func setDebug(_ on: Bool) {
        _ = installLogHook
        debugRequested = on
        crypt_set_debug_level(on ? CRYPT_DEBUG_ALL : CRYPT_DEBUG_NONE)
    }

    /// A context on a block device (header and data on it).
    public init(path: String) throws(LUKSError) {
        _ = Self.installLogHook
        device = path
        var handle: OpaquePointer?
        let rc = crypt_init(&handle, path)
        guard rc == 0, let handle else { throw Self.error("open", path, rc) }
        cd = handle
    }

    /// A context for an active mapping (made by swcrypt or cryptsetup).
    public init(activeName name: String) throws(LUKSError) {
        _ = Self.installLogHook
        var handle: OpaquePointer?
        let rc = crypt_init_by_name(&handle, name)
        guard rc == 0, let handle else { throw Self.error("find mapping", name, rc) }
        cd = handle
        device = crypt_get_device_name(handle).map { String(cString: $0) } ?? name
    }

    deinit { crypt_free(cd) }

    static func error(_ operation: String, _ device: String, _ rc: Int32, since: Int = 0, kernel: KernelLogWindow? = nil) -> LUKSError {
        let messages = Diagnostics.shared.entries(since: since).filter { $0.source == "libcryptsetup" && $0.level == .error }.map(\.message)
        var e = LUKSError(operation: operation, device: device, errno: Errno(rawValue: rc < 0 ? -rc : rc), messages: messages)
        e.kernelMessages = KernelLogWindow.relevant(kernel?.drain() ?? [])
        return e
    }

    /// Runs a libcryptsetup call; on failure the error carries the library's
    /// messages and the kernel's lines logged meanwhile.
    func call(_ operation: String, _ body: () -> Int32) throws(LUKSError) -> Int32 {
        let since = Diagnostics.shared.count
        let kmsg = KernelLogWindow()
        let rc = body()
        if rc < 0 { throw Self.error(operation, device, rc, since: since, kernel: kmsg) }
        return rc
    }

    /// The PBKDF as cryptsetup builds it: libcryptsetup's defaults for LUKS2
    /// (`crypt_get_pbkdf_default`: argon2id, 2000 ms, 1 GiB, 4 threads), changed only
    /// where the user said so. pbkdf2 takes no memory or threads (libcryptsetup
    /// refuses them); forced iterations skip the benchmark and leave Argon2's memory
    /// and threads at their defaults unless given. The type and hash strings are
    /// set by the caller (they must outlive the call).
    static func pbkdf(_ p: PBKDFChoice) throws(LUKSError) -> crypt_pbkdf_type {
        guard let defaults = crypt_get_pbkdf_default(CRYPT_LUKS2) else {
            throw LUKSError(operation: "read libcryptsetup's PBKDF defaults", device: "", errno: .invalidArgument, messages: [])
        }
        var pbkdf = defaults.pointee
        if let ms = p.iterationTimeMs { pbkdf.time_ms = ms }
        if p.type == "pbkdf2" {
            pbkdf.max_memory_kb = 0
            pbkdf.parallel_threads = 0
        } else if let kib = p.memoryKiB {
            pbkdf.max_memory_kb = kib
        }
        if let forced = p.forcedIterations {
            pbkdf.iterations = forced
            pbkdf.flags |= Flag.pbkdfNoBenchmark
        }
        return pbkdf
    }

    /// The PBKDF for keyslots made from now on in this context. The returned
    /// strings hold the structure's type and hash; keep them while it is used.
    @discardableResult
    func setPBKDF(_ choice: PBKDFChoice) throws(LUKSError) -> (crypt_pbkdf_type, CStrings) {
        var pbkdf = try Self.pbkdf(choice)
        let strings = CStrings([choice.type, String(cString: pbkdf.hash)])
        pbkdf.type = strings[0]
        pbkdf.hash = strings[1]
        _ = try call("set the PBKDF for") { crypt_set_pbkdf_type(cd, &pbkdf) }
        return (pbkdf, strings)
    }

    /// Reads the LUKS2 header. libcryptsetup explains a refused or repaired copy
    /// only in its debug log, so that log is on for the call (it goes to the
    /// diagnostics sink, printed only with --debug) and is read into a
    /// `HeaderReadDiagnosis`: attached to the error, or returned (a repair to report).
    @discardableResult
    public func load() throws(LUKSError) -> HeaderReadDiagnosis? {
        let since = Diagnostics.shared.count
        crypt_set_debug_level(CRYPT_DEBUG_ALL)
        let rc = crypt_load(cd, CRYPT_LUKS2, nil)
        crypt_set_debug_level(Self.debugRequested ? CRYPT_DEBUG_ALL : CRYPT_DEBUG_NONE)
        let lines = Diagnostics.shared.entries(since: since).filter { $0.source == "libcryptsetup" && $0.level == .debug }.map(\.message)
        let diagnosis = HeaderReadDiagnosis(debugLines: lines)
        if rc < 0 {
            var e = Self.error("read the LUKS2 header of", device, rc, since: since)
            e.header = diagnosis
            throw e
        }
        return diagnosis
    }

    /// Formats a LUKS2 header (inline HW tags or dm-integrity) with a generated volume key.
    public func format(_ p: LUKSFormatParameters) throws(LUKSError) {
        var (pbkdf, pbkdfStrings) = try setPBKDF(p.pbkdf)
        defer { withExtendedLifetime(pbkdfStrings) {} }

        var integrityParams = crypt_params_integrity()
        integrityParams.sector_size = UInt32(p.sectorSize)
        let args = CStrings([p.integrity?.libcryptsetupName ?? "", p.label ?? "", p.subsystem ?? "", p.cipher.cipher, p.cipher.libcryptsetupMode])
        let since = Diagnostics.shared.count
        let kmsg = KernelLogWindow()
        let rc: Int32 = withUnsafePointer(to: &pbkdf) { pbkdfPointer in
            withUnsafePointer(to: &integrityParams) { ip in
                var params = crypt_params_luks2()
                params.pbkdf = pbkdfPointer
                params.integrity = p.integrity == nil ? nil : args[0]
                params.integrity_params = p.layout == .inlineHardware ? ip : nil
                params.sector_size = UInt32(p.sectorSize)
                params.label = p.label == nil ? nil : args[1]
                params.subsystem = p.subsystem == nil ? nil : args[2]
                return withUnsafeMutablePointer(to: &params) { pp in
                    if p.layout == .inlineHardware {
                        return crypt_format_inline(cd, CRYPT_LUKS2, args[3], args[4], nil, nil, p.keyBytes, pp)
                    }
                    return crypt_format(cd, CRYPT_LUKS2, args[3], args[4], nil, nil, p.keyBytes, pp)
                }
            }
        }
        if rc < 0 { throw Self.error("format", device, rc, since: since, kernel: kmsg) }
        if case .dmIntegrity(journal: false) = p.layout {
            _ = try call("store the no-journal flag on") {
                crypt_persistent_flags_set(cd, CRYPT_FLAGS_ACTIVATION, Flag.activateNoJournal)
            }
        }
    }

    /// Adds a keyslot for `passphrase` (after format, from the volume key in memory).
    @discardableResult
    public func addKeyslot(passphrase: SecretBytes) throws(LUKSError) -> Int {
        Int(try call("add a keyslot to") {
            passphrase.withUnsafeBytes { raw in
                crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, nil, 0,
                                                raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
            }
        })
    }

    /// Activates with the passphrase (or key-file contents). EPERM means a wrong passphrase.
    public func activate(name: String, passphrase: SecretBytes, slot: Int? = nil, readOnly: Bool,
                         performance: PerformanceFlags = PerformanceFlags(), allowDiscards: Bool = false) throws(LUKSError) {
        let flags = Self.activationFlags(readOnly: readOnly, performance: performance, allowDiscards: allowDiscards)
        _ = try call("open") {
            passphrase.withUnsafeBytes { raw in
                crypt_activate_by_passphrase(cd, name, Int32(slot ?? Int(CRYPT_ANY_SLOT)),
                                             raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, flags)
            }
        }
    }

    static func activationFlags(readOnly: Bool, performance: PerformanceFlags, allowDiscards: Bool) -> UInt32 {
        var flags: UInt32 = readOnly ? Flag.activateReadOnly : 0
        if allowDiscards { flags |= Flag.activateAllowDiscards }
        if performance.sameCPUCrypt { flags |= Flag.activateSameCPUCrypt }
        if performance.submitFromCryptCPUs { flags |= Flag.activateSubmitFromCryptCPUs }
        if performance.noReadWorkqueue { flags |= Flag.activateNoReadWorkqueue }
        if performance.noWriteWorkqueue { flags |= Flag.activateNoWriteWorkqueue }
        if performance.highPriority { flags |= Flag.activateHighPriority }
        return flags
    }

    /// Activates a private, journal-less mapping from the volume key held since
    /// format (for initialising the tags).
    public func activateForInitialisation(name: String) throws(LUKSError) {
        _ = try call("activate for initialisation") {
            crypt_activate_by_volume_key(cd, name, nil, 0, Flag.activatePrivate | Flag.activateNoJournal)
        }
    }

    /// Removes the mapping and any dm-integrity layer beneath it.
    public func deactivate(name: String) throws(LUKSError) {
        _ = try call("close") { crypt_deactivate(cd, name) }
    }

    public func setLabel(_ label: String?, subsystem: String?) throws(LUKSError) {
        _ = try call("write the label of") { crypt_set_label(cd, label, subsystem) }
    }

    public func activeVolume(name: String) -> ActiveVolume? {
        var a = crypt_active_device()
        guard crypt_get_active_device(cd, name, &a) == 0 else { return nil }
        return ActiveVolume(offset: a.offset, size: a.size, readOnly: a.flags & Flag.activateReadOnly != 0,
                            noJournal: a.flags & Flag.activateNoJournal != 0,
                            busy: crypt_status(cd, name) == CRYPT_BUSY)
    }

    public var info: LUKSInfo {
        var ip = crypt_params_integrity()
        let hasIntegrity = crypt_get_integrity_info(cd, &ip) == 0 && ip.tag_size > 0
        var requirements: UInt32 = 0
        _ = crypt_persistent_flags_get(cd, CRYPT_FLAGS_REQUIREMENTS, &requirements)
        var activation: UInt32 = 0
        _ = crypt_persistent_flags_get(cd, CRYPT_FLAGS_ACTIVATION, &activation)
        let layout: IntegrityLayout = !hasIntegrity ? .none
            : requirements & Flag.requirementInlineHWTags != 0 ? .inlineHardware
            : .dmIntegrity(journal: activation & Flag.activateNoJournal == 0)
        let type = crypt_get_type(cd).map { String(cString: $0) } ?? "none"
        let max = crypt_keyslot_max(type)
        let slots = max > 0 ? (0..<max).filter {
            let s = crypt_keyslot_status(cd, $0)
            return s == CRYPT_SLOT_ACTIVE || s == CRYPT_SLOT_ACTIVE_LAST
        }.map { Int($0) } : []
        return LUKSInfo(
            type: type,
            uuid: crypt_get_uuid(cd).map { String(cString: $0) } ?? "",
            cipher: crypt_get_cipher(cd).map { String(cString: $0) } ?? "",
            cipherMode: crypt_get_cipher_mode(cd).map { String(cString: $0) } ?? "",
            integrity: hasIntegrity ? ip.integrity.map { String(cString: $0) } : nil,
            tagBytes: hasIntegrity ? Int(ip.tag_size) : 0,
            layout: layout,
            sectorSize: Int(crypt_get_sector_size(cd)),
            keyBytes: Int(crypt_get_volume_key_size(cd)),
            device: crypt_get_device_name(cd).map { String(cString: $0) } ?? device,
            dataOffset: crypt_get_data_offset(cd),
            keyslots: slots,
            label: crypt_get_label(cd).map { String(cString: $0) } ?? "",
            subsystem: crypt_get_subsystem(cd).map { String(cString: $0) } ?? "",
            requirements: Flag.requirementNames.filter { requirements & $0.0 != 0 }.map(\.1))
    }
}

/// NUL-terminated copies of Swift strings that live as long as this object.
final class CStrings {
    private var pointers: [UnsafeMutablePointer<CChar>]
    init(_ strings: [String]) { pointers = strings.map { strdup($0)! } }
    subscript(i: Int) -> UnsafePointer<CChar> { UnsafePointer(pointers[i]) }
    deinit { pointers.forEach { free($0) } }
}
