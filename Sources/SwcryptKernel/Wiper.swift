import CSwcryptShim
import Dispatch
import Synchronization
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT (Ctrl-C), SIGTERM or SIGHUP (a dropped ssh session) while a
/// long operation runs; the operation stops at its next step and cleans up.
public enum Interrupt {
    static let flag = Atomic<Bool>(false)
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    public static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Installs handlers that only set the flag (the operation checks it).
    public static func install() {
        flag.store(false, ordering: .relaxed)
        for s in signals { signal(s) { _ in Interrupt.flag.store(true, ordering: .relaxed) } }
    }

    public static func restore() {
        for s in signals { signal(s, SIG_DFL) }
    }
}

/// Writes zeros over a whole device with large O_DIRECT writes, several in flight
/// (one thread each), so the kernel's parallel crypto and the device's queue stay
/// busy. With authenticated encryption this computes every sector's tag.
public enum Wiper {
    public enum Outcome: Sendable, Equatable { case completed, interrupted }

    /// One pass over a device in `chunkBytes` pieces, `inFlight` threads each with
    /// its own aligned buffer taking the next piece: the engine of the wipe and of
    /// the read-back. `body` does one piece (offset, length) and returns how many
    /// bytes it finished; the first error stops every thread.
    final class Pass: Sendable {
        let size: UInt64
        let chunkBytes: Int
        let next = Atomic<Int>(0)
        let done = Atomic<UInt64>(0)
        let finished = Atomic<Bool>(false)
        let failure = Mutex<SwcryptError?>(nil)
        let start = ContinuousClock.now

        init(size: UInt64, chunkBytes: Int) { self.size = size; self.chunkBytes = chunkBytes }

        var chunks: Int { Int((size + UInt64(chunkBytes) - 1) / UInt64(chunkBytes)) }
        func elapsed() -> Double {
            let d = ContinuousClock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        func progress(_ phase: WipeProgress.Phase) -> WipeProgress {
            WipeProgress(done: done.load(ordering: .relaxed), total: size, seconds: elapsed(), phase: phase)
        }

        /// Runs `work` while a reporter calls `progress` about four times a second,
        /// then once more at the end.
        func reporting(_ phase: WipeProgress.Phase, _ progress: (@Sendable (WipeProgress) -> Void)?, _ work: () -> Void) {
            let reporter = DispatchGroup()
            if let progress {
                DispatchQueue.global().async(group: reporter) {
                    while !self.finished.load(ordering: .relaxed) {
                        progress(self.progress(phase))
                        usleep(250_000)
                    }
                }
            }
            work()
            finished.store(true, ordering: .relaxed)
            reporter.wait()
            progress?(self.progress(phase))
        }

        func run(inFlight: Int, device: String, fill: UInt8?,
                 _ body: @Sendable (UnsafeMutableRawPointer, UInt64, Int) throws(SwcryptError) -> Void) {
            DispatchQueue.concurrentPerform(iterations: max(1, min(inFlight, chunks))) { _ in
                var raw: UnsafeMutableRawPointer?
                guard posix_memalign(&raw, 4096, chunkBytes) == 0, let buffer = raw else {
                    failure.withLock { $0 = SwcryptError(.memory, device: device, "cannot allocate an aligned I/O buffer") }
                    return
                }
                defer { free(buffer) }
                if let fill { memset(buffer, Int32(fill), chunkBytes) }
                while !Interrupt.requested && failure.withLock({ $0 == nil }) {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    guard i < chunks else { break }
                    let offset = UInt64(i) * UInt64(chunkBytes)
                    let length = Int(min(UInt64(chunkBytes), size - offset))
                    do throws(SwcryptError) {
                        try body(buffer, offset, length)
                    } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                        return
                    }
                    done.add(UInt64(length), ordering: .relaxed)
                }
            }
        }
    }

    static func openDirect(_ path: String, write: Bool) throws(SwcryptError) -> (Int32, UInt64) {
        let fd = open(path, (write ? O_WRONLY : O_RDONLY) | swcrypt_shim_O_DIRECT() | O_CLOEXEC)
        guard fd >= 0 else {
            throw SwcryptError(.wrongDevice, device: path, "cannot open for \(write ? "writing" : "reading")", cause: Errno(rawValue: errno).description)
        }
        return (fd, UInt64(lseek(fd, 0, SEEK_END)))
    }

    public static func zero(_ path: String, chunkBytes: Int = 4 << 20, inFlight: Int = 8,
                            progress: (@Sendable (WipeProgress) -> Void)? = nil) throws(SwcryptError) -> (Outcome, WipeProgress) {
        let (fd, size) = try openDirect(path, write: true)
        defer { close(fd) }
        let pass = Pass(size: size, chunkBytes: chunkBytes)
        Diagnostics.shared.log(.debug, "wipe", "\(path): \(size) bytes in \(pass.chunks) writes of \(chunkBytes) bytes, \(inFlight) in flight")
        pass.reporting(.wipe, progress) {
            pass.run(inFlight: inFlight, device: path, fill: 0) { (buffer, offset, length) throws(SwcryptError) in
                var done = 0
                while done < length {
                    let n = pwrite(fd, buffer + done, length - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SwcryptError(.failure, device: path, "write failed at byte \(offset + UInt64(done))", cause: Errno(rawValue: errno).description)
                    }
                    done += n
                }
            }
        }
        if fsync(fd) != 0, pass.failure.withLock({ $0 == nil }) {
            pass.failure.withLock { $0 = SwcryptError(.failure, device: path, "flushing the writes failed", cause: Errno(rawValue: errno).description) }
        }
        if let error = pass.failure.withLock({ $0 }) { throw error }
        return (Interrupt.requested ? .interrupted : .completed, pass.progress(.wipe))
    }
}

extension Wiper {
    /// Reads the whole device back (O_DIRECT, as many requests in flight as the
    /// wipe) and returns the byte offsets, in order, of `blockBytes` blocks that
    /// fail to read. With authenticated encryption a failing block is one whose
    /// tag does not match its data.
    public static func unreadableBlocks(_ path: String, blockBytes: Int, chunkBytes: Int = 4 << 20, inFlight: Int = 8,
                                        progress: (@Sendable (WipeProgress) -> Void)? = nil) throws(SwcryptError) -> [UInt64] {
        let (fd, size) = try openDirect(path, write: false)
        defer { close(fd) }
        let bad = Mutex<[UInt64]>([])
        let pass = Pass(size: size, chunkBytes: chunkBytes)
        pass.reporting(.verify, progress) {
            pass.run(inFlight: inFlight, device: path, fill: nil) { (buffer, offset, length) throws(SwcryptError) in
                if pread(fd, buffer, length, off_t(offset)) == length { return }
                // Find the failing blocks inside this piece.
                var b = 0
                while b < length {
                    if pread(fd, buffer, blockBytes, off_t(offset) + off_t(b)) != blockBytes {
                        let at = offset + UInt64(b)
                        bad.withLock { $0.append(at) }
                    }
                    b += blockBytes
                }
            }
        }
        if let error = pass.failure.withLock({ $0 }) { throw error }
        return bad.withLock { $0 }.sorted()
    }
}
