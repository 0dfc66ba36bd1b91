import SwcryptCore
import SwcryptSystem
import SwcryptKeys
import CSwcryptShim
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Which file owns each damaged block, without unmounting: FIEMAP over the files
/// of the filesystem mounted from the volume (what `filefrag` reads), and for the
/// blocks in no file, on ext4, the block bitmap (`debugfs -R testb`, read-only)
/// to tell filesystem metadata from free space.
struct BlockOwners {
    /// /dev/mapper/NAME.
    var volumePath: String
    var mount: MountEntry?

    /// The owner of every offset in `offsets` (byte offsets in the volume).
    func owners(of offsets: [UInt64], blockBytes: Int) -> [UInt64: BlockOwner] {
        var result = [UInt64: BlockOwner]()
        guard !offsets.isEmpty else { return result }
        guard let mount else {
            for o in offsets { result[o] = .unknown("the volume's filesystem is not mounted here: mount it (read-only is enough) to have blocks named") }
            return result
        }
        let sorted = offsets.sorted()
        walk(mount.mountPoint, sorted: sorted, into: &result)
        let unowned = sorted.filter { result[$0] == nil }
        guard !unowned.isEmpty else { return result }
        switch mount.fsType {
        case "ext2", "ext3", "ext4":
            let inUse = Self.ext4BlocksInUse(volumePath, offsets: unowned, fsBlockBytes: Self.blockSize(of: mount.mountPoint))
            for o in unowned {
                switch inUse[o] {
                case true?: result[o] = .metadata
                case false?: result[o] = .free
                case nil: result[o] = .unknown("in no file; debugfs could not read ext4's block bitmap for it")
                }
            }
        case "xfs":
            for o in unowned { result[o] = .unknown("in no file: XFS free space or XFS metadata (swcrypt tells them apart on ext4 only)") }
        default:
            for o in unowned { result[o] = .unknown("in no file: free space or \(mount.fsType) metadata (swcrypt tells them apart on ext4 only)") }
        }
        return result
    }

    /// The filesystem's block size (statvfs), 4096 when it cannot be read.
    static func blockSize(of mountPoint: String) -> UInt64 {
        var s = statvfs()
        return statvfs(mountPoint, &s) == 0 && s.f_bsize > 0 ? UInt64(s.f_bsize) : 4096
    }

    /// Every regular file and directory under `root` on the same filesystem: each
    /// extent FIEMAP gives that covers a wanted offset names its owner.
    func walk(_ root: String, sorted: [UInt64], into result: inout [UInt64: BlockOwner]) {
        var rootStat = stat()
        guard lstat(root, &rootStat) == 0 else { return }
        var pending = [root]
        while let dir = pending.popLast() {
            if sorted.allSatisfy({ result[$0] != nil }) { return }
            note(dir, directory: true, sorted: sorted, into: &result)
            guard let d = opendir(dir) else { continue }
            defer { closedir(d) }
            while let entry = readdir(d) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                let path = dir == "/" ? "/\(name)" : "\(dir)/\(name)"
                var st = stat()
                guard lstat(path, &st) == 0, st.st_dev == rootStat.st_dev else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: pending.append(path)
                case S_IFREG: note(path, directory: false, sorted: sorted, into: &result)
                default: break
                }
            }
        }
    }

    private func note(_ path: String, directory: Bool, sorted: [UInt64], into result: inout [UInt64: BlockOwner]) {
        for (physical, length) in Self.extents(path) {
            // The first wanted offset at or after the extent's start.
            var lo = 0, hi = sorted.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if sorted[mid] < physical { lo = mid + 1 } else { hi = mid }
            }
            var i = lo
            while i < sorted.count && sorted[i] < physical + length {
                result[sorted[i]] = directory ? .directory(path) : .file(path)
                i += 1
            }
        }
    }

    /// A file's extents on its block device: (physical byte offset, length).
    static func extents(_ path: String) -> [(UInt64, UInt64)] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var found = [(UInt64, UInt64)]()
        let batch = 256
        var logical = [UInt64](repeating: 0, count: batch), physical = logical, length = logical
        var flags = [UInt32](repeating: 0, count: batch)
        var start: UInt64 = 0
        while true {
            let n = Int(swcrypt_shim_fiemap(fd, start, &logical, &physical, &length, &flags, Int32(batch)))
            guard n > 0 else { break }
            for i in 0..<n where flags[i] & 2 == 0 { found.append((physical[i], length[i])) }
            if flags[n - 1] & 1 != 0 || n < batch { break }
            start = logical[n - 1] + length[n - 1]
        }
        return found
    }

    /// ext4's own answer for blocks in no file: marked in use (metadata) or not
    /// (free), from `debugfs -R "testb BLOCK"` (read-only; it reads the bitmaps
    /// through the block device's page cache, where a mounted ext4 keeps them). A
    /// volume block is judged by the filesystem block it starts with.
    static func ext4BlocksInUse(_ volume: String, offsets: [UInt64], fsBlockBytes: UInt64) -> [UInt64: Bool] {
        guard let debugfs = SecretPipe.find(["/usr/sbin/debugfs", "/sbin/debugfs"]) else { return [:] }
        let fsBlock = max(fsBlockBytes, 512)
        var answers = [UInt64: Bool]()
        for chunk in stride(from: 0, to: offsets.count, by: 64) {
            let part = offsets[chunk..<min(chunk + 64, offsets.count)]
            let commands = part.map { "testb \($0 / fsBlock)" }.joined(separator: "\n") + "\n"
            let input = SecretBytes(copying: Array(commands.utf8))
            guard let r = try? SecretPipe(program: debugfs, arguments: ["-f", "-", volume], input: input, timeout: 60,
                                          captureErrors: true).run(device: volume), r.status == 0 else { continue }
            let text = r.output.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            // "Block 1234 marked in use" / "Block 1234 not in use"
            var byBlock = [UInt64: Bool]()
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard words.count >= 4, words[0] == "Block", let b = UInt64(words[1]) else { continue }
                byBlock[b] = words[2] == "marked"
            }
            for o in part { answers[o] = byBlock[o / fsBlock] }
        }
        return answers
    }
}
