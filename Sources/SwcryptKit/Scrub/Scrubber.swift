import SwcryptCore
import SwcryptSystem
import SwcryptLUKS
import CSwcryptShim
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// `swcrypt scrub NAME|DEV`: what to read, how fast, and what to do with the
/// damaged blocks found.
public struct ScrubRequest: Sendable {
    /// The mapping name, /dev/mapper/NAME, or the LUKS2 device it is open on.
    public var target: String
    /// Bytes per second (--rate); nil: as fast as the device gives.
    public var bytesPerSecond: Double?
    /// Start from the beginning even when a checkpoint says where the last scrub stopped.
    public var restart = false
    /// Rewrite damaged blocks that no file or filesystem structure uses (ext4).
    public var rewriteFree = false
    /// The idle I/O class (the default): the disk goes to everything else first.
    public var idle = true
    public var checkpointDirectory = "/var/lib/swcrypt/scrub"
    public var chunkBytes = 4 << 20

    public init(target: String) { self.target = target }
}

/// What a scrub of one volume found.
public struct ScrubResult: Sendable {
    public var name: String
    public var uuid: String
    public var device: String
    public var layout: IntegrityLayout
    public var volumeBytes: UInt64
    public var blockBytes: Int
    /// Where this run started (non-zero when it went on from a checkpoint).
    public var resumedAt: UInt64
    /// How far the volume has been read (all of it unless interrupted).
    public var position: UInt64
    public var seconds: Double
    public var completed: Bool
    public var filesystem: String?
    public var mountPoint: String?
    public var ranges: [DamagedRange]

    public var damagedBlocks: Int { ranges.reduce(0) { $0 + $1.blocks } }
}

public final class Scrubber {
    let resolver = BlockResolver()

    public init() {}

    public func run(_ r: ScrubRequest, progress: ((WipeProgress) -> Void)? = nil) throws(SwcryptError) -> ScrubResult {
        guard Privileges.isRoot else { throw SwcryptError(.permission, "scrub needs root") }
        let name = try mappingName(r.target)
        let device = try VolumeManager.openVolume(name, resolver: resolver, itself: true)
        let info = device.info
        let volumePath = "/dev/mapper/\(name)"
        let blockBytes = info.sectorSize
        let reader = try BlockReader(path: volumePath, blockBytes: blockBytes, chunkBytes: r.chunkBytes)
        let checkpointPath = "\(r.checkpointDirectory)/\(info.uuid).json"
        var state = ScrubCheckpoint(uuid: info.uuid, volumeBytes: reader.size, blockBytes: blockBytes)
        if !r.restart, let text = Files.readText(checkpointPath), let saved = ScrubCheckpoint(json: text),
           saved.uuid == info.uuid, saved.volumeBytes == reader.size, saved.blockBytes == blockBytes, saved.position < reader.size {
            state = saved
            Diagnostics.shared.log(.info, "scrub", "\(name): going on from byte \(saved.position) (checkpoint \(checkpointPath))")
        }
        try Files.makeDirectories(r.checkpointDirectory)
        if r.idle && !useIdleIOClass() {
            Diagnostics.shared.log(.warning, "scrub", "cannot use the idle I/O class (ioprio_set: errno \(errno)); reading at normal priority")
        }
        let resumedAt = state.position
        Interrupt.install()
        defer { Interrupt.restore() }
        let started = ContinuousClock.now
        var lastSave = started
        let secondsBefore = state.seconds
        // With --rate, reads of at most a quarter second's worth: the pace is then
        // kept within that much at any moment, not within one 4 MiB read.
        var chunk = r.chunkBytes
        if let rate = r.bytesPerSecond { chunk = min(chunk, max(blockBytes, Int(rate / 4) / blockBytes * blockBytes)) }
        var pace = r.bytesPerSecond.map { ScrubPace(bytesPerSecond: $0, startingAt: 0) }
        while state.position < reader.size && !Interrupt.requested {
            let length = Int(min(UInt64(chunk), reader.size - state.position))
            state.damaged += reader.failingBlocks(at: state.position, length: length)
            state.position += UInt64(length)
            let elapsed = (ContinuousClock.now - started).inSeconds
            state.seconds = secondsBefore + elapsed
            if let wait = pace?.wait(afterReading: length, now: elapsed), wait > 0 {
                usleep(UInt32(min(wait, 10) * 1_000_000))
            }
            progress?(WipeProgress(done: state.position, total: reader.size, seconds: state.seconds, phase: .scrub))
            if ContinuousClock.now - lastSave >= .seconds(5) {
                try? Files.write(checkpointPath, state.json)
                lastSave = ContinuousClock.now
            }
        }
        // The time spent, to the moment it stopped (a paced scrub's last wait included).
        state.seconds = secondsBefore + (ContinuousClock.now - started).inSeconds
        let completed = state.position >= reader.size
        if completed { Files.remove(checkpointPath) } else { try Files.write(checkpointPath, state.json) }

        let sysfs = resolver.sysfs
        let mount = sysfs.kernelName(ofPath: volumePath).flatMap { sysfs.blockDevice(name: $0) }.flatMap {
            resolver.sysfs.mountEntries(major: $0.major, minor: $0.minor).first
        }
        let owners = BlockOwners(volumePath: volumePath, mount: mount)
        let offsets = state.damaged.map(\.offset)
        var owned = owners.owners(of: offsets, blockBytes: blockBytes)
        let rawBlockBytes = sysfs.kernelName(ofPath: info.device).flatMap { sysfs.blockDevice(name: $0) }?.logicalBlockSize ?? blockBytes
        func rawBlock(_ offset: UInt64) -> UInt64? {
            // Inline tags: the volume is one piece of the raw device after the header.
            info.layout == .inlineHardware ? (info.dataOffset * 512 + offset) / UInt64(rawBlockBytes) : nil
        }
        var rewritten = Set<UInt64>()
        if r.rewriteFree && completed {
            rewritten = try rewriteFree(state.damaged, owners: &owned, volumePath: volumePath, mount: mount, blockBytes: blockBytes)
        }
        var ranges = DamagedRange.group(state.damaged, blockBytes: blockBytes, owner: { owned[$0] ?? .unknown("not looked up") },
                                        rawBlock: rawBlock)
        for i in ranges.indices {
            let blocks = (0..<ranges[i].blocks).map { ranges[i].offset + UInt64($0 * blockBytes) }
            ranges[i].rewritten = !blocks.isEmpty && blocks.allSatisfy { rewritten.contains($0) }
        }
        return ScrubResult(name: name, uuid: info.uuid, device: info.device, layout: info.layout, volumeBytes: reader.size,
                           blockBytes: blockBytes, resumedAt: resumedAt, position: state.position, seconds: state.seconds,
                           completed: completed, filesystem: mount?.fsType, mountPoint: mount?.mountPoint, ranges: ranges)
    }

    /// `--rewrite-free`: blocks that belong to no file and no filesystem structure get
    /// zeros through the mapping (and with them a valid tag). On a mounted ext4 the
    /// filesystem is frozen meanwhile (FIFREEZE flushes the journal, so the bitmap
    /// read is the current one, and nothing can allocate a block until it thaws);
    /// each block is checked again under the freeze. Blocks in files are never written.
    func rewriteFree(_ damaged: [DamagedBlock], owners: inout [UInt64: BlockOwner], volumePath: String,
                     mount: MountEntry?, blockBytes: Int) throws(SwcryptError) -> Set<UInt64> {
        let candidates = damaged.map(\.offset).filter { owners[$0] == .free }
        guard !candidates.isEmpty else { return [] }
        var frozen: Int32 = -1
        if let mount {
            frozen = open(mount.mountPoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard frozen >= 0, ioctl(frozen, swcrypt_shim_FIFREEZE(), 0) == 0 else {
                let e = errno
                if frozen >= 0 { close(frozen) }
                throw SwcryptError(.failure, device: volumePath, "cannot freeze \(mount.mountPoint) to rewrite free blocks safely; nothing was rewritten", errno: Errno(rawValue: e))
            }
        }
        defer {
            if frozen >= 0 {
                _ = ioctl(frozen, swcrypt_shim_FITHAW(), 0)
                close(frozen)
            }
        }
        let fsBlock = mount.map { BlockOwners.blockSize(of: $0.mountPoint) } ?? 4096
        let stillFree = BlockOwners.ext4BlocksInUse(volumePath, offsets: candidates, fsBlockBytes: fsBlock)
        var done = Set<UInt64>()
        for offset in candidates where stillFree[offset] == false {
            if try BlockReader.rewriteWithZeros(volumePath, offset: offset, blockBytes: blockBytes) == nil {
                done.insert(offset)
            } else {
                Diagnostics.shared.log(.warning, "scrub", "\(volumePath): the block at byte \(offset) still fails after the rewrite")
            }
        }
        return done
    }

    /// NAME, /dev/mapper/NAME, or the device a volume is open on.
    func mappingName(_ target: String) throws(SwcryptError) -> String {
        if !target.contains("/") { return target }
        if target.hasPrefix("/dev/mapper/") { return String(target.dropFirst("/dev/mapper/".count)) }
        let t = try resolver.resolve(target)
        if case .deviceMapper(let own) = t.device.kind { return own }
        for h in t.device.holders {
            guard var n = h.mappingName else { continue }
            if n.hasSuffix(StackNaming.integritySuffix) { n = String(n.dropLast(StackNaming.integritySuffix.count)) }
            if (try? LUKSDevice(activeName: n)) != nil { return n }
        }
        throw SwcryptError(.wrongDevice, device: target, "no open volume on this device: open it first (swcrypt open \(target) NAME)")
    }
}
