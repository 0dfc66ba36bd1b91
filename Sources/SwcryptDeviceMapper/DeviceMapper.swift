// The only file in swcrypt that talks to libdevmapper. Nothing from CDeviceMapper
// leaves this module: callers see Table, MappingInfo and DeviceMapperError.
internal import CDeviceMapper
internal import CDeviceMapperShim
import SwcryptCore
import SwcryptSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A failed device-mapper call: the operation, the mapping, errno, and what the
/// kernel and libdevmapper said during the call.
public struct DeviceMapperError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var name: String
    public var errno: Errno?
    /// device-mapper lines from the kernel log during the call.
    public var kernelMessages: [String]
    /// libdevmapper's own error lines during the call.
    public var libraryMessages: [String]

    public var description: String {
        var s = "\(operation) \(name) failed"
        if let errno { s += ": \(errno.description)" }
        if let k = KernelLogWindow.reason(kernelMessages) { s += " (kernel: \(k))" }
        else if let l = libraryMessages.last { s += " (\(l))" }
        return s
    }
}

/// libdevmapper, typed. Owns the process-wide log hook while it lives; one
/// instance at a time (not Sendable).
public final class DeviceMapper {
    private let diagnostics: Diagnostics

    /// Fails when the kernel has no device-mapper (no /dev/mapper/control after
    /// trying to load dm_mod).
    public init(diagnostics: Diagnostics = .shared) throws(DeviceMapperError) {
        self.diagnostics = diagnostics
        if !Modules().loadIfAvailable("dm_mod") && access("/dev/mapper/control", F_OK) != 0 {
            throw DeviceMapperError(operation: "open device-mapper", name: "/dev/mapper/control", errno: .noSuchFileOrDirectory,
                                    kernelMessages: [], libraryMessages: ["the kernel has no device-mapper (CONFIG_BLK_DEV_DM, module dm_mod)"])
        }
        // Installed for the life of the process: libcryptsetup also drives
        // libdevmapper, and restoring the default hook would print its debug log.
        swcrypt_shim_dm_log_install { level, _, message in
            guard let message else { return }
            // libdevmapper levels follow syslog: 3 error, 4 warning, 5 notice, 6 info, 7 debug.
            let l: Diagnostics.Level = level <= 3 ? .error : level == 4 ? .warning : level <= 6 ? .info : .debug
            Diagnostics.shared.log(l, "libdevmapper", String(cString: message))
        }
    }

    deinit {
        dm_lib_release()
    }

    // MARK: - One task

    /// Runs one libdevmapper task with error capture; `configure` sets it up,
    /// `read` extracts results before the task is destroyed.
    private func task<T>(_ type: Int32, _ operation: String, name: String?,
                         configure: (OpaquePointer) throws(DeviceMapperError) -> Void = { _ throws(DeviceMapperError) in },
                         udev: Bool = false,
                         read: (OpaquePointer) throws(DeviceMapperError) -> T) throws(DeviceMapperError) -> T {
        let label = name ?? ""
        guard let dmt = dm_task_create(type) else {
            throw DeviceMapperError(operation: operation, name: label, errno: .noMemory, kernelMessages: [], libraryMessages: [])
        }
        defer { dm_task_destroy(dmt) }
        if let name, dm_task_set_name(dmt, name) == 0 {
            throw DeviceMapperError(operation: operation, name: label, errno: .invalidArgument, kernelMessages: [],
                                    libraryMessages: ["invalid mapping name"])
        }
        try configure(dmt)
        var cookie: UInt32 = 0
        if udev {
            // Let udev make /dev/mapper/NAME (libdevmapper falls back to making the
            // node itself when udev is not running); dm_udev_wait waits for it.
            _ = dm_task_set_cookie(dmt, &cookie, 0)
        }
        let mark = diagnostics.count
        let kmsg = KernelLogWindow()
        let ok = dm_task_run(dmt) != 0
        let err = dm_task_get_errno(dmt)
        if udev { _ = dm_udev_wait(cookie) }
        guard ok else {
            let kernel = KernelLogWindow.relevant(kmsg?.drain() ?? [])
            let library = diagnostics.entries(since: mark).filter { $0.level >= .error }.map(\.message)
            throw DeviceMapperError(operation: operation, name: label, errno: err != 0 ? Errno(rawValue: err) : nil,
                                    kernelMessages: kernel, libraryMessages: library)
        }
        return try read(dmt)
    }

    private func addTargets(_ dmt: OpaquePointer, _ table: Table, _ operation: String, _ name: String) throws(DeviceMapperError) {
        for line in table.lines {
            let params: String
            do {
                params = try line.target.parameters(masked: false)
            } catch {
                // The last line of defence: a word that would split in the kernel's parser.
                throw DeviceMapperError(operation: operation, name: name, errno: .invalidArgument, kernelMessages: [],
                                        libraryMessages: [error.message])
            }
            if dm_task_add_target(dmt, line.start, line.length, line.target.typeName, params) == 0 {
                throw DeviceMapperError(operation: operation, name: name, errno: .noMemory, kernelMessages: [], libraryMessages: [])
            }
        }
    }

    // MARK: - Operations

    /// Creates, loads and resumes a mapping. libdevmapper removes the device again
    /// when the load fails, so a failed create leaves nothing.
    @discardableResult
    public func create(name: String, uuid: String, table: Table, readOnly: Bool = false) throws(DeviceMapperError) -> MappingInfo {
        try task(Int32(DM_DEVICE_CREATE), "create", name: name, configure: { dmt throws(DeviceMapperError) in
            _ = dm_task_set_uuid(dmt, uuid)
            if readOnly { _ = dm_task_set_ro(dmt) }
            // The table can hold key references; keep it out of libdevmapper's debug log.
            _ = dm_task_secure_data(dmt)
            try addTargets(dmt, table, "create", name)
        }, udev: true) { _ throws(DeviceMapperError) in () }
        guard let info = try info(name: name) else {
            throw DeviceMapperError(operation: "create", name: name, errno: .noSuchFileOrDirectory,
                                    kernelMessages: [], libraryMessages: ["the mapping vanished after create"])
        }
        return info
    }

    /// Loads a new table into the inactive slot (then `resume` swaps it in).
    public func reload(name: String, table: Table) throws(DeviceMapperError) {
        try task(Int32(DM_DEVICE_RELOAD), "reload", name: name, configure: { dmt throws(DeviceMapperError) in
            _ = dm_task_secure_data(dmt)
            try addTargets(dmt, table, "reload", name)
        }) { _ throws(DeviceMapperError) in () }
    }

    func suspend(name: String) throws(DeviceMapperError) {
        try task(Int32(DM_DEVICE_SUSPEND), "suspend", name: name) { _ throws(DeviceMapperError) in () }
    }

    public func resume(name: String) throws(DeviceMapperError) {
        try task(Int32(DM_DEVICE_RESUME), "resume", name: name, udev: true) { _ throws(DeviceMapperError) in () }
    }

    /// Removes a mapping; `retry` retries while udev briefly holds it open,
    /// `deferred` lets the kernel remove it when the last user closes it.
    public func remove(name: String, retry: Bool = true, deferred: Bool = false) throws(DeviceMapperError) {
        try task(Int32(DM_DEVICE_REMOVE), "remove", name: name, configure: { dmt throws(DeviceMapperError) in
            if retry { _ = dm_task_retry_remove(dmt) }
            if deferred { _ = dm_task_deferred_remove(dmt) }
        }, udev: true) { _ throws(DeviceMapperError) in () }
    }

    /// nil when no mapping of that name exists.
    public func info(name: String) throws(DeviceMapperError) -> MappingInfo? {
        try task(Int32(DM_DEVICE_INFO), "query", name: name) { dmt throws(DeviceMapperError) in
            var i = dm_info()
            guard dm_task_get_info(dmt, &i) != 0, i.exists != 0 else { return nil }
            let uuid = dm_task_get_uuid(dmt).map { String(cString: $0) } ?? ""
            return MappingInfo(name: name, uuid: uuid, major: Int(i.major), minor: Int(i.minor),
                               openCount: Int(i.open_count), targetCount: Int(i.target_count),
                               suspended: i.suspended != 0, readOnly: i.read_only != 0)
        }
    }

    /// All mappings: names with their UUIDs.
    public func list() throws(DeviceMapperError) -> [MappingInfo] {
        let names: [String] = try task(Int32(DM_DEVICE_LIST), "list", name: nil) { dmt throws(DeviceMapperError) in
            var result = [String]()
            guard var names = dm_task_get_names(dmt) else { return result }
            if names.pointee.dev == 0 { return result }
            while true {
                result.append(String(cString: swcrypt_shim_dm_names_name(names)))
                let next = names.pointee.next
                if next == 0 { break }
                names = UnsafeMutableRawPointer(names).advanced(by: Int(next)).assumingMemoryBound(to: dm_names.self)
            }
            return result
        }
        var infos = [MappingInfo]()
        for n in names.sorted() {
            if let i = try info(name: n) { infos.append(i) }
        }
        return infos
    }

    /// The table as the kernel holds it ("start length type params" lines).
    func tableText(name: String) throws(DeviceMapperError) -> String {
        try targets(Int32(DM_DEVICE_TABLE), "table", name: name)
    }

    /// The targets' status lines.
    public func statusText(name: String) throws(DeviceMapperError) -> String {
        try targets(Int32(DM_DEVICE_STATUS), "status", name: name)
    }

    private func targets(_ type: Int32, _ operation: String, name: String) throws(DeviceMapperError) -> String {
        try task(type, operation, name: name, configure: { dmt throws(DeviceMapperError) in
            if type == Int32(DM_DEVICE_TABLE) { _ = dm_task_secure_data(dmt) }
        }) { dmt throws(DeviceMapperError) in
            var lines = [String]()
            var next: UnsafeMutableRawPointer? = nil
            repeat {
                var start: UInt64 = 0, length: UInt64 = 0
                var type: UnsafeMutablePointer<CChar>? = nil
                var params: UnsafeMutablePointer<CChar>? = nil
                next = dm_get_next_target(dmt, next, &start, &length, &type, &params)
                if let type {
                    let p = params.map { String(cString: $0) } ?? ""
                    lines.append("\(start) \(length) \(String(cString: type))" + (p.isEmpty ? "" : " \(p)"))
                }
            } while next != nil
            return lines.joined(separator: "\n")
        }
    }

    /// Target versions the running kernel has loaded (DM_DEVICE_LIST_VERSIONS).
    public func targetVersions() throws(DeviceMapperError) -> KernelTargets {
        try task(Int32(DM_DEVICE_LIST_VERSIONS), "list target versions", name: nil) { dmt throws(DeviceMapperError) in
            var versions = [String: TargetVersion]()
            guard var t = dm_task_get_versions(dmt) else { return KernelTargets(versions) }
            while true {
                let name = String(cString: swcrypt_shim_dm_versions_name(t))
                let v = t.pointee.version
                versions[name] = TargetVersion(Int(v.0), Int(v.1), Int(v.2))
                let next = t.pointee.next
                if next == 0 { break }
                t = UnsafeMutableRawPointer(t).advanced(by: Int(next)).assumingMemoryBound(to: dm_versions.self)
            }
            return KernelTargets(versions)
        }
    }

    /// The device-mapper driver version ("4.48.0").
    public func driverVersion() throws(DeviceMapperError) -> String {
        try task(Int32(DM_DEVICE_VERSION), "driver version", name: nil) { dmt throws(DeviceMapperError) in
            var buffer = [CChar](repeating: 0, count: 64)
            _ = dm_task_get_driver_version(dmt, &buffer, buffer.count)
            let text = String(cString: buffer)
            return text.hasPrefix("V") ? String(text.dropFirst()) : text
        }
    }
}
