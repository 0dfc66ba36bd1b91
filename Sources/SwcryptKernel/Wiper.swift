import CSwcryptShim
import Dispatch
import Synchronization
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM while a long operation runs; the operation stops cleanly.
public enum Interrupt {
    static let flag = Atomic<Bool>(false)

    public static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Installs handlers that only set the flag (the operation checks it).
    public static func install() {
        flag.store(false, ordering: .relaxed)
        signal(SIGINT) { _ in Interrupt.flag.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in Interrupt.flag.store(true, ordering: .relaxed) }
    }

    public static func restore() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// Writes zeros over a whole device with large O_DIRECT writes, several in flight
/// (one thread each), so the kernel's parallel crypto and the device's queue stay
/// busy. With authenticated encryption this computes every sector's tag.
public enum Wiper {
    public enum Outcome: Sendable, Equatable { case completed, interrupted }

    public static func zero(_ path: String, chunkBytes: Int = 4 << 20, inFlight: Int = 8,
                            progress: (@Sendable (WipeProgress) -> Void)? = nil) throws(SwcryptError) -> (Outcome, WipeProgress) {
        let fd = open(path, O_WRONLY | swcrypt_shim_O_DIRECT() | O_CLOEXEC)
        guard fd >= 0 else {
            throw SwcryptError(.wrongDevice, device: path, "cannot open for writing", cause: Errno(rawValue: errno).description)
        }
        defer { close(fd) }
        let size = UInt64(lseek(fd, 0, SEEK_END))
        let chunks = Int((size + UInt64(chunkBytes) - 1) / UInt64(chunkBytes))
        Diagnostics.shared.log(.debug, "wipe", "\(path): \(size) bytes in \(chunks) writes of \(chunkBytes) bytes, \(inFlight) in flight")
        final class State: Sendable {
            let next = Atomic<Int>(0)
            let written = Atomic<UInt64>(0)
            let finished = Atomic<Bool>(false)
            let failure = Mutex<SwcryptError?>(nil)
            let start = ContinuousClock.now
            func elapsed() -> Double {
                let d = ContinuousClock.now - start
                return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            }
        }
        let state = State()
        let reporter = DispatchGroup()
        if let progress {
            DispatchQueue.global().async(group: reporter) {
                while !state.finished.load(ordering: .relaxed) {
                    progress(WipeProgress(done: state.written.load(ordering: .relaxed), total: size, seconds: state.elapsed()))
                    usleep(250_000)
                }
            }
        }
        DispatchQueue.concurrentPerform(iterations: max(1, min(inFlight, chunks))) { _ in
            var raw: UnsafeMutableRawPointer?
            guard posix_memalign(&raw, 4096, chunkBytes) == 0, let buffer = raw else {
                state.failure.withLock { $0 = SwcryptError(.memory, device: path, "cannot allocate an aligned write buffer") }
                return
            }
            defer { free(buffer) }
            memset(buffer, 0, chunkBytes)
            while !Interrupt.requested && state.failure.withLock({ $0 == nil }) {
                let i = state.next.add(1, ordering: .relaxed).oldValue
                guard i < chunks else { break }
                let offset = UInt64(i) * UInt64(chunkBytes)
                let length = Int(min(UInt64(chunkBytes), size - offset))
                var done = 0
                while done < length {
                    let n = pwrite(fd, buffer + done, length - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        let e = Errno(rawValue: errno)
                        state.failure.withLock { $0 = SwcryptError(.failure, device: path, "write failed at byte \(offset + UInt64(done))", cause: e.description) }
                        return
                    }
                    done += n
                }
                state.written.add(UInt64(length), ordering: .relaxed)
            }
        }
        state.finished.store(true, ordering: .relaxed)
        reporter.wait()
        if fsync(fd) != 0, state.failure.withLock({ $0 == nil }) {
            state.failure.withLock { $0 = SwcryptError(.failure, device: path, "flushing the writes failed", cause: Errno(rawValue: errno).description) }
        }
        if let error = state.failure.withLock({ $0 }) { throw error }
        let final = WipeProgress(done: state.written.load(ordering: .relaxed), total: size, seconds: state.elapsed())
        progress?(final)
        return (Interrupt.requested ? .interrupted : .completed, final)
    }
}

extension Wiper {
    /// Reads the whole device back (O_DIRECT, 1 MiB at a time) and returns the
    /// byte offsets of `blockBytes` blocks that fail to read. With authenticated
    /// encryption a failing block is one whose tag does not match its data.
    public static func unreadableBlocks(_ path: String, blockBytes: Int) throws(SwcryptError) -> [UInt64] {
        let fd = open(path, O_RDONLY | swcrypt_shim_O_DIRECT() | O_CLOEXEC)
        guard fd >= 0 else {
            throw SwcryptError(.wrongDevice, device: path, "cannot open for reading", cause: Errno(rawValue: errno).description)
        }
        defer { close(fd) }
        let size = UInt64(lseek(fd, 0, SEEK_END))
        let chunk = 1 << 20
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 4096, chunk) == 0, let buffer = raw else {
            throw SwcryptError(.memory, device: path, "cannot allocate an aligned read buffer")
        }
        defer { free(buffer) }
        var bad = [UInt64]()
        var offset: UInt64 = 0
        while offset < size && !Interrupt.requested {
            let length = Int(min(UInt64(chunk), size - offset))
            if pread(fd, buffer, length, off_t(offset)) != length {
                // Find the failing blocks inside this chunk.
                var b = 0
                while b < length {
                    if pread(fd, buffer, blockBytes, off_t(offset) + off_t(b)) != blockBytes { bad.append(offset + UInt64(b)) }
                    b += blockBytes
                }
            }
            offset += UInt64(length)
        }
        return bad
    }
}
