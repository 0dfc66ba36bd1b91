import CSwcryptShim
import Dispatch
import Synchronization
import SwcryptCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

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
        func elapsed() -> Double { (ContinuousClock.now - start).inSeconds }
        func progress(_ phase: WipeProgress.Phase) -> WipeProgress {
            WipeProgress(done: done.load(ordering: .relaxed), total: size, seconds: elapsed(), phase: phase)
        }

        /// Runs `work` while a reporter calls `progress` about four times a second,
        /// then once more at the end.
        func reporting(_ phase: WipeProgress.Phase, _ progress: (@Sendable (WipeProgress) -> Void)?, _ work: () -> Void) {
            let reporter = DispatchGroup()
            if let progress {
                DispatchQueue.global().async(group: reporter) {
                    // Reports every 250 ms but looks every 10 ms, so that the end of the
                    // work is not held up (or its timing stretched) by a sleeping reporter.
                    var ticks = 0
                    while !self.finished.load(ordering: .relaxed) {
                        if ticks % 25 == 0 { progress(self.progress(phase)) }
                        ticks += 1
                        usleep(10_000)
                    }
                }
            }
            work()
            finished.store(true, ordering: .relaxed)
            reporter.wait()
            progress?(self.progress(phase))
        }

        /// How many requests are in flight: fixed, or found by measurement.
        enum Depth: Sendable, Equatable {
            case fixed(Int)
            /// Ramp 1, 2, 4, ... up to `max` over the first seconds, measuring each,
            /// and keep the fastest.
            case measured(max: Int)
        }

        /// The depth in use: workers with a higher index wait.
        let depth = Atomic<Int>(1)
        /// The ramp has chosen its depth for good: idle workers leave.
        let rampSettled = Atomic<Bool>(false)
        let ramp = Mutex<[(depth: Int, bytesPerSecond: Double)]>([])

        /// Runs `body` on `threads` threads of its own, each with its own aligned
        /// buffer, each taking the next piece: as many requests really in flight as
        /// `depth` says (Dispatch's concurrentPerform never runs more at once than
        /// there are CPUs). With `.measured`, this thread ramps the depth meanwhile.
        func run(_ requested: Depth, device: String, fill: UInt8?,
                 _ body: @escaping @Sendable (UnsafeMutableRawPointer, UInt64, Int) throws(SwcryptError) -> Void) {
            let threads: Int
            switch requested {
            case .fixed(let n): threads = max(1, min(n, chunks)); depth.store(threads, ordering: .relaxed); rampSettled.store(true, ordering: .relaxed)
            case .measured(let m): threads = max(1, min(m, chunks)); depth.store(1, ordering: .relaxed)
            }
            var workers = [pthread_t]()
            for index in 0..<threads {
                let job = Unmanaged.passRetained(WorkerJob { [self] in work(index: index, device: device, fill: fill, body) })
                var thread = pthread_t()
                if pthread_create(&thread, nil, { raw in
                    let job = Unmanaged<WorkerJob>.fromOpaque(raw!).takeRetainedValue()
                    job.run()
                    return nil
                }, job.toOpaque()) == 0 {
                    workers.append(thread)
                } else {
                    job.release()
                    failure.withLock { if $0 == nil { $0 = SwcryptError(.memory, device: device, "cannot start an I/O thread", errno: Errno(rawValue: errno)) } }
                    break
                }
            }
            if case .measured = requested, !workers.isEmpty { rampDepth(upTo: workers.count) }
            for thread in workers { pthread_join(thread, nil) }
        }

        private func work(index: Int, device: String, fill: UInt8?,
                          _ body: @Sendable (UnsafeMutableRawPointer, UInt64, Int) throws(SwcryptError) -> Void) {
            // The buffer is made when this worker first has work: idle workers of a
            // ramp that settles lower never allocate and fill theirs (16 x 4 MiB of
            // memset competed with the first measurement window on an emulated CPU).
            var buffer: UnsafeMutableRawPointer?
            defer { free(buffer) }
            while !Interrupt.requested && failure.withLock({ $0 == nil }) {
                if index >= depth.load(ordering: .relaxed) {
                    // Not needed at this depth: wait for the ramp (rarely: on a busy
                    // or emulated CPU many waking threads cost real throughput), or
                    // leave once the ramp has settled below this thread.
                    if next.load(ordering: .relaxed) >= chunks || rampSettled.load(ordering: .relaxed) { return }
                    usleep(20_000)
                    continue
                }
                if buffer == nil {
                    var raw: UnsafeMutableRawPointer?
                    guard posix_memalign(&raw, 4096, chunkBytes) == 0, let made = raw else {
                        failure.withLock { $0 = SwcryptError(.memory, device: device, "cannot allocate an aligned I/O buffer") }
                        return
                    }
                    if let fill { memset(made, Int32(fill), chunkBytes) }
                    buffer = made
                }
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < chunks, let buffer else { return }
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

        /// Doubles the depth after each measurement window (at least 0.25 s and two
        /// pieces per request in flight), while the rate grows by more than 5%;
        /// then settles on the fastest depth seen. Every window is recorded. The
        /// windows are short so that a fast wipe (hundreds of MiB/s) spends little
        /// of its time at the shallow depths.
        private func rampDepth(upTo limit: Int) {
            var best = (depth: 1, bytesPerSecond: 0.0)
            var d = 1
            while true {
                depth.store(d, ordering: .relaxed)
                // Let the new depth settle (one piece per request) before measuring it:
                // the first window would otherwise count start-up as slowness.
                let settleFrom = done.load(ordering: .relaxed)
                while !finishedOrFailed && done.load(ordering: .relaxed) - settleFrom < UInt64(d * chunkBytes) {
                    usleep(2_000)
                }
                let startBytes = done.load(ordering: .relaxed), startTime = elapsed()
                while !finishedOrFailed && (elapsed() - startTime < 0.25 || done.load(ordering: .relaxed) - startBytes < UInt64(2 * d * chunkBytes)) {
                    usleep(5_000)
                }
                if finishedOrFailed { break }
                let rate = Double(done.load(ordering: .relaxed) - startBytes) / max(elapsed() - startTime, 1e-6)
                ramp.withLock { $0.append((d, rate)) }
                if rate > best.bytesPerSecond * 1.05 { best = (d, rate) } else { break }
                guard d < limit else { break }
                d = min(limit, d * 2)
            }
            depth.store(best.depth, ordering: .relaxed)
            rampSettled.store(true, ordering: .relaxed)
        }

        private var finishedOrFailed: Bool {
            next.load(ordering: .relaxed) >= chunks || Interrupt.requested || failure.withLock({ $0 != nil })
        }
    }

    /// One worker thread's work, handed to pthread_create.
    final class WorkerJob {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    static func openDirect(_ path: String, write: Bool) throws(SwcryptError) -> (Int32, UInt64) {
        let fd = open(path, (write ? O_WRONLY : O_RDONLY) | swcrypt_shim_O_DIRECT() | O_CLOEXEC)
        guard fd >= 0 else {
            throw SwcryptError(.wrongDevice, device: path, "cannot open for \(write ? "writing" : "reading")", errno: Errno(rawValue: errno))
        }
        return (fd, UInt64(lseek(fd, 0, SEEK_END)))
    }

    /// `inFlight`: requests in flight, or nil to find the best depth (up to
    /// `maxInFlight`) by measuring the first seconds of the wipe.
    public static func zero(_ path: String, chunkBytes: Int = 4 << 20, inFlight: Int?, maxInFlight: Int = 16,
                            progress: (@Sendable (WipeProgress) -> Void)? = nil) throws(SwcryptError) -> (Outcome, WipeProgress) {
        let (fd, size) = try openDirect(path, write: true)
        defer { close(fd) }
        let pass = Pass(size: size, chunkBytes: chunkBytes)
        Diagnostics.shared.log(.debug, "wipe", "\(path): \(size) bytes in \(pass.chunks) writes of \(chunkBytes) bytes, \(inFlight.map { "\($0)" } ?? "measured") in flight")
        // BLKZEROOUT, as cryptsetup's own wipe does: the kernel writes zero pages
        // through the mapping (dm-crypt encrypts them and computes their tags) with
        // no copy from user space. Where the device refuses it, ordinary writes of
        // zeros. Either way every byte goes through the mapping.
        let zeroout = Atomic<Bool>(true)
        pass.reporting(.wipe, progress) {
            pass.run(inFlight.map { .fixed($0) } ?? .measured(max: maxInFlight), device: path, fill: 0) { (buffer, offset, length) throws(SwcryptError) in
                if zeroout.load(ordering: .relaxed) {
                    var range: (UInt64, UInt64) = (offset, UInt64(length))
                    if ioctl(fd, swcrypt_shim_BLKZEROOUT(), &range) == 0 { return }
                    if errno != EOPNOTSUPP && errno != EINVAL && errno != ENOTTY {
                        throw SwcryptError(.failure, device: path, "zeroing failed at byte \(offset)", errno: Errno(rawValue: errno))
                    }
                    zeroout.store(false, ordering: .relaxed)
                }
                var done = 0
                while done < length {
                    let n = pwrite(fd, buffer + done, length - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SwcryptError(.failure, device: path, "write failed at byte \(offset + UInt64(done))", errno: Errno(rawValue: errno))
                    }
                    done += n
                }
            }
        }
        if fsync(fd) != 0, pass.failure.withLock({ $0 == nil }) {
            pass.failure.withLock { $0 = SwcryptError(.failure, device: path, "flushing the writes failed", errno: Errno(rawValue: errno)) }
        }
        if let error = pass.failure.withLock({ $0 }) { throw error }
        var final = pass.progress(.wipe)
        final.inFlight = pass.depth.load(ordering: .relaxed)
        final.ramp = pass.ramp.withLock { $0.map { WipeProgress.RampStep(inFlight: $0.depth, bytesPerSecond: $0.bytesPerSecond) } }
        return (Interrupt.requested ? .interrupted : .completed, final)
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
            pass.run(.fixed(inFlight), device: path, fill: nil) { (buffer, offset, length) throws(SwcryptError) in
                let failing = BlockReader.failingBlocks(fd: fd, buffer: buffer, offset: offset, length: length, blockBytes: blockBytes)
                if !failing.isEmpty { bad.withLock { $0.append(contentsOf: failing.map(\.offset)) } }
            }
        }
        if let error = pass.failure.withLock({ $0 }) { throw error }
        return bad.withLock { $0 }.sorted()
    }
}
