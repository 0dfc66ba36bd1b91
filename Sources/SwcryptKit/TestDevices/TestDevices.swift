import SwcryptCore
import SwcryptSystem
import SystemPackage

/// The kinds of throwaway block devices `swcrypt testdev` makes for tests and CI.
public enum TestDeviceKind: String, Sendable, CaseIterable, Codable {
    /// null_blk through configfs, memory-backed.
    case nullBlk = "null-blk"
    /// A loop device on a sparse file in swcrypt's state directory, direct I/O.
    case loop
    /// scsi_debug with T10 DIF type 1 (protection information) and DIX.
    case scsiDebug = "scsi-debug"
}

public struct TestDeviceRequest: Sendable {
    public var kind: TestDeviceKind
    public var sizeMiB: Int
    public var blockSize: Int

    public init(kind: TestDeviceKind, sizeMiB: Int = 64, blockSize: Int = 4096) {
        self.kind = kind
        self.sizeMiB = sizeMiB
        self.blockSize = blockSize
    }
}

/// A test device swcrypt made, as the kernel shows it now.
public struct TestDevice: Sendable, Equatable {
    public var kind: TestDeviceKind
    public var name: String
    public var device: String
    public var sizeBytes: UInt64
    public var logicalBlockSize: Int
    public var integrityFormat: String
    /// Loop only: the sparse backing file and whether the kernel kept direct I/O.
    public var backingFile: String?
    public var directIO: Bool?
}

/// `swcrypt testdev create|remove|ls`.
///
/// What swcrypt calls its own (and so lists and removes):
/// - null_blk: configfs directories named `swcrypt-nb<N>` (the disk is /dev/swcrypt-nb<N>);
/// - loop: devices whose backing file is in `stateDirectory`;
/// - scsi_debug: the disk recorded in `stateDirectory/scsi-debug` as "<disk> <host>",
///   when that disk still sits on that SCSI host (scsi_debug makes one set of disks
///   per module load, so there is at most one at a time).
/// Everything else is refused by `remove` with exit 4, naming the device.
public struct TestDevices: Sendable {
    public var sysfs: Sysfs
    public var devRoot: String
    var stateDirectory: String
    var nullBlk: NullBlkConfig
    var loops: LoopDevices
    public var modules: Modules

    static let nullBlkPrefix = "swcrypt-nb"
    /// On tmpfs: test devices do not survive a reboot, and neither should their records.
    public static let defaultStateDirectory = "/run/swcrypt/testdev"

    public init(sysfs: Sysfs = Sysfs(), devRoot: String = "/dev", stateDirectory: String = TestDevices.defaultStateDirectory,
                configfsRoot: String = "/sys/kernel/config") {
        self.sysfs = sysfs
        self.devRoot = devRoot
        self.stateDirectory = stateDirectory
        self.modules = Modules(sysfsRoot: sysfs.root)
        self.nullBlk = NullBlkConfig(configfsRoot: configfsRoot, modules: modules)
        self.loops = LoopDevices(devRoot: devRoot, modules: modules)
    }

    var scsiDebugRecord: String { "\(stateDirectory)/scsi-debug" }

    // MARK: create

    public func create(_ request: TestDeviceRequest) throws(SwcryptError) -> TestDevice {
        let what = "testdev \(request.kind.rawValue)"
        guard [512, 4096].contains(request.blockSize) else {
            throw SwcryptError(.failure, device: what, "block size \(request.blockSize) is not supported; use 512 or 4096")
        }
        guard request.sizeMiB >= 1 && request.sizeMiB <= 1 << 20 else {
            throw SwcryptError(.failure, device: what, "size \(request.sizeMiB) MiB is out of range (1 MiB to 1 TiB)")
        }
        guard Privileges.isRoot else {
            throw SwcryptError(.permission, device: what, "creating test devices needs root")
        }
        switch request.kind {
        case .nullBlk: return try createNullBlk(request)
        case .loop: return try createLoop(request)
        case .scsiDebug: return try createScsiDebug(request)
        }
    }

    private func createNullBlk(_ request: TestDeviceRequest) throws(SwcryptError) -> TestDevice {
        try kernel("null_blk") { () throws(SwcryptError) in try nullBlk.prepare() }
        // The first free swcrypt-nb<N>, free both in configfs and as a disk name.
        let taken = Set(nullBlk.names() + sysfs.blockDeviceNames())
        let name = (0...).lazy.map { "\(Self.nullBlkPrefix)\($0)" }.first { !taken.contains($0) }!
        try kernel("\(nullBlk.directory)/\(name)") { () throws(SwcryptError) in
            try nullBlk.create(name: name, blockSize: request.blockSize, sizeMiB: request.sizeMiB)
        }
        return try waitForDevice(name, kind: .nullBlk, undo: { _ = try? nullBlk.remove(name: name) })
    }

    private func createLoop(_ request: TestDeviceRequest) throws(SwcryptError) -> TestDevice {
        try kernel(stateDirectory) { () throws(SwcryptError) in try Files.makeDirectories(stateDirectory) }
        var rng = SystemRandomNumberGenerator()
        let file = "\(stateDirectory)/loop-\(String(rng.next() & 0xffff_ffff, radix: 16)).img"
        try kernel(file) { () throws(SwcryptError) in
            try LoopDevices.createSparseFile(file, size: UInt64(request.sizeMiB) << 20)
        }
        var name = ""
        do {
            try kernel("testdev loop") { () throws(SwcryptError) in
                name = try loops.attach(file: file, blockSize: request.blockSize, directIO: true)
            }
        } catch {
            Files.remove(file)
            throw error
        }
        return try waitForDevice(name, kind: .loop, undo: {
            _ = try? loops.detach(name: name)
            Files.remove(file)
        })
    }

    private func createScsiDebug(_ request: TestDeviceRequest) throws(SwcryptError) -> TestDevice {
        if let mine = ownScsiDebug() {
            throw SwcryptError(.busy, device: mine.devicePath,
                               "a scsi-debug test device exists already; scsi_debug makes one per module load, remove it first")
        }
        if modules.isLoaded("scsi_debug") {
            let disks = sysfs.scsiDebugDisks().map { "\(devRoot)/\($0.name)" }
            throw SwcryptError(.busy, device: "scsi_debug",
                               "the module is loaded already, not by swcrypt"
                               + (disks.isEmpty ? "" : " (its disks: \(disks.joined(separator: ", ")))")
                               + "; refusing to replace it")
        }
        try kernel(stateDirectory) { () throws(SwcryptError) in try Files.makeDirectories(stateDirectory) }
        // dif=1 dix=1: T10 DIF type 1 with the guard tag as CRC (guard=0), so the
        // disk's integrity profile is T10-DIF-TYPE1-CRC.
        try kernel("scsi_debug") { () throws(SwcryptError) in
            try modules.load("scsi_debug", ["dif=1", "dix=1", "guard=0", "sector_size=\(request.blockSize)",
                                            "dev_size_mb=\(request.sizeMiB)", "num_tgts=1", "max_luns=1"])
        }
        let undo = { _ = try? modules.unload("scsi_debug"); Files.remove(scsiDebugRecord) }
        var disk: (name: String, host: Int)?
        _ = waitUntil(10) { disk = sysfs.scsiDebugDisks().first; return disk != nil }
        guard let disk else {
            undo()
            throw SwcryptError(.wrongDevice, device: "scsi_debug", "the module loaded but no disk appeared within 10 s")
        }
        do {
            try kernel("testdev scsi-debug") { () throws(SwcryptError) in
                try Files.write(scsiDebugRecord, "\(disk.name) \(disk.host)\n")
            }
        } catch {
            undo()
            throw error
        }
        return try waitForDevice(disk.name, kind: .scsiDebug, undo: undo)
    }

    /// Waits for the disk's sysfs entry and device node (udev or devtmpfs make
    /// it asynchronously), with its size and, for scsi_debug, its integrity profile set.
    private func waitForDevice(_ name: String, kind: TestDeviceKind,
                               undo: () -> Void) throws(SwcryptError) -> TestDevice {
        var found: TestDevice?
        let ready = waitUntil(10) {
            guard let d = describe(name, kind: kind), d.sizeBytes > 0, Files.exists(d.device) else { return false }
            found = d
            return kind != .scsiDebug || d.integrityFormat != "none"
        }
        guard let found else {
            undo()
            throw SwcryptError(.wrongDevice, device: "\(devRoot)/\(name)", "created, but the disk did not appear within 10 s; removed it again")
        }
        if !ready && kind == .scsiDebug {
            undo()
            throw SwcryptError(.wrongDevice, device: found.device,
                               "scsi_debug was asked for DIF type 1 but the disk shows no integrity profile; removed it again")
        }
        return found
    }

    func describe(_ name: String, kind: TestDeviceKind) -> TestDevice? {
        guard let d = sysfs.blockDevice(name: name) else { return nil }
        let backing = kind == .loop ? sysfs.loopBackingFile(name) : nil
        return TestDevice(kind: kind, name: name, device: "\(devRoot)/\(name)", sizeBytes: d.sizeBytes,
                          logicalBlockSize: d.logicalBlockSize, integrityFormat: d.integrity.description,
                          backingFile: backing, directIO: kind == .loop ? sysfs.loopDirectIO(name) : nil)
    }

    // MARK: recognition and ls

    /// What kind of swcrypt test device the disk is, or nil if swcrypt did not make it.
    func ownKind(of name: String) -> TestDeviceKind? {
        if name.hasPrefix(Self.nullBlkPrefix) && nullBlk.names().contains(name) { return .nullBlk }
        if name.hasPrefix("loop"), let file = sysfs.loopBackingFile(name), isInStateDirectory(file) { return .loop }
        if ownScsiDebug()?.name == name { return .scsiDebug }
        return nil
    }

    private func isInStateDirectory(_ file: String) -> Bool {
        file.hasPrefix(stateDirectory + "/") && !file.dropFirst(stateDirectory.count + 1).contains("/")
    }

    /// The recorded scsi_debug disk, if it is still the one on the recorded host.
    private func ownScsiDebug() -> BlockDevice? {
        guard let record = Files.readText(scsiDebugRecord) else { return nil }
        let fields = record.split(separator: " ")
        guard fields.count == 2, let host = Int(fields[1]) else { return nil }
        let name = String(fields[0])
        guard sysfs.scsiDebugDisks().contains(where: { $0.name == name && $0.host == host }) else { return nil }
        return sysfs.blockDevice(name: name)
    }

    /// swcrypt's test devices, by kind then name. Needs no privileges.
    public func list() -> [TestDevice] {
        var result = [TestDevice]()
        for name in nullBlk.names() where name.hasPrefix(Self.nullBlkPrefix) && nullBlk.isPowered(name) {
            if let d = describe(name, kind: .nullBlk) { result.append(d) }
        }
        for name in sysfs.blockDeviceNames() where name.hasPrefix("loop") {
            if let file = sysfs.loopBackingFile(name), isInStateDirectory(file), let d = describe(name, kind: .loop) {
                result.append(d)
            }
        }
        if let disk = ownScsiDebug(), let d = describe(disk.name, kind: .scsiDebug) { result.append(d) }
        return result
    }

    // MARK: remove

    /// Removes a test device swcrypt made. Refuses (4) anything else and (5) a device in use.
    public func remove(_ path: String) throws(SwcryptError) -> TestDevice {
        let device = try resolve(path)
        guard let kind = ownKind(of: device.name), let info = describe(device.name, kind: kind) else {
            throw SwcryptError(.wrongDevice, device: path,
                               "not a swcrypt test device (it is \(device.kindDescription) that swcrypt did not create); refusing to remove it")
        }
        guard Privileges.isRoot else {
            throw SwcryptError(.permission, device: path, "removing test devices needs root")
        }
        let mounts = sysfs.mounts(of: device)
        if !mounts.isEmpty || !device.holders.isEmpty {
            var why = [String]()
            if !mounts.isEmpty { why.append("mounted: " + mounts.joined(separator: ", ")) }
            if !device.holders.isEmpty { why.append("held by: " + device.holders.map(\.description).joined(separator: ", ")) }
            throw SwcryptError(.busy, device: path, "in use, refusing to remove (" + why.joined(separator: "; ") + ")")
        }
        if exclusiveOpenError(info.device) == .resourceBusy {
            throw SwcryptError(.busy, device: path, "opened exclusively by another process, refusing to remove")
        }
        switch kind {
        case .nullBlk:
            try kernel("\(nullBlk.directory)/\(device.name)") { () throws(SwcryptError) in
                try nullBlk.remove(name: device.name)
            }
        case .loop:
            try kernel(info.device) { () throws(SwcryptError) in try loops.detach(name: device.name) }
            if let file = info.backingFile { Files.remove(file) }
        case .scsiDebug:
            try kernel("scsi_debug") { () throws(SwcryptError) in try modules.unload("scsi_debug") }
            Files.remove(scsiDebugRecord)
        }
        guard waitUntil(10, { !Files.exists("\(sysfs.root)/block/\(device.name)") }) else {
            throw SwcryptError(.busy, device: path, "removed, but the disk is still in /sys/block after 10 s")
        }
        return info
    }

    /// A path (or a bare name such as "swcrypt-nb0") to a whole-disk block device.
    private func resolve(_ path: String) throws(SwcryptError) -> BlockDevice {
        let full = path.contains("/") ? path : "\(devRoot)/\(path)"
        return try BlockResolver(sysfs: sysfs, devRoot: devRoot).resolve(full) { what in
            SwcryptError(.wrongDevice, device: path, "not a block device (it is \(what)); refusing to remove it")
        }.device
    }

    /// A kernel call for `device` (as the user knows it): its error names that device,
    /// and the path the call acted on goes into the cause.
    private func kernel(_ device: String, _ body: () throws(SwcryptError) -> Void) throws(SwcryptError) {
        do { try body() } catch {
            var e = error
            if let path = e.device, path != device { e.cause = "\(path): " + (e.cause ?? e.message) }
            e.device = device
            throw e
        }
    }
}
