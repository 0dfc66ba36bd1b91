import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Tampering, secrets and concurrency against the real kernel (issue: reliability).
/// Each test prints its counts on a line starting "reliability:".
final class ReliabilityIntegrationTests: XCTestCase {
    override func setUpWithError() throws {
        try VM.require()
        try VM.loadModules("dm-crypt", "dm-integrity", "aegis128", "gcm", "authenc")
    }

    override func tearDownWithError() throws {
        for name in (try? dmNames()) ?? [] where name.hasPrefix("rt-") {
            _ = try? execute([VM.swcrypt, "unmap", name])
            _ = try? execute([VM.swcrypt, "close", name])
        }
    }

    /// N random 4 KiB sectors of a dm-crypt AEAD mapping on the 4096+64
    /// namespace are altered through the raw namespace: half get a flipped data
    /// byte, half are rewritten with their own ciphertext (so only the metadata,
    /// which a raw write does not carry, changes). Every read of exactly those
    /// sectors must fail; every other sector must read back what was written.
    func testTamperedSectorsFailExactly() throws {
        let ns = try KernelNamespace.byNSID(1)
        try VM.wipeSignatures(ns.path)
        let blocks = 4096   // 16 MiB
        let r = try swcrypt("map", "crypt", "rt-tamper", ns.path, "--cipher", "aegis128-random", "--random-key",
                            "--size", "\(blocks * 8)")
        XCTAssertEqual(r.status, 0, r.stderr)
        let mapping = "/dev/mapper/rt-tamper"
        var rng = SystemRandomNumberGenerator()
        var plain = [UInt8](repeating: 0, count: blocks * 4096)
        for i in plain.indices { plain[i] = UInt8.random(in: 0...255, using: &rng) }
        try directIO(mapping) { fd, buf in
            for b in 0..<blocks {
                plain.withUnsafeBytes { buf.copyMemory(from: $0.baseAddress! + b * 4096, byteCount: 4096) }
                XCTAssertEqual(pwrite(fd, buf, 4096, off_t(b * 4096)), 4096, "write block \(b): \(String(cString: strerror(errno)))")
            }
            XCTAssertEqual(fsync(fd), 0)
        }

        let n = 64
        var chosen = Set<Int>()
        while chosen.count < n { chosen.insert(Int.random(in: 0..<blocks, using: &rng)) }
        let sorted = chosen.sorted()
        let dataFlips = Set(sorted.enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
        try directIO(ns.path, write: true) { fd, buf in
            for b in sorted {
                XCTAssertEqual(pread(fd, buf, 4096, off_t(b * 4096)), 4096)
                if dataFlips.contains(b) {
                    let p = buf.assumingMemoryBound(to: UInt8.self)
                    p[Int.random(in: 0..<4096, using: &rng)] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                }
                XCTAssertEqual(pwrite(fd, buf, 4096, off_t(b * 4096)), 4096)
            }
            XCTAssertEqual(fsync(fd), 0)
        }

        var failed = Set<Int>(), intact = 0, altered = 0
        try directIO(mapping) { fd, buf in
            for b in 0..<blocks {
                let got = pread(fd, buf, 4096, off_t(b * 4096))
                if got != 4096 { failed.insert(b); continue }
                let same = plain.withUnsafeBytes { memcmp(buf, $0.baseAddress! + b * 4096, 4096) == 0 }
                if same { intact += 1 } else { altered += 1 }
            }
        }
        XCTAssertEqual(altered, 0, "altered plaintext was returned")
        XCTAssertEqual(failed, chosen, "reads failed on \(failed.subtracting(chosen).count) untouched sectors and succeeded on \(chosen.subtracting(failed).count) tampered ones")
        XCTAssertEqual(intact, blocks - n)
        let log = try dmesgLines().filter { $0.contains("INTEGRITY AEAD ERROR") }
        XCTAssertFalse(log.isEmpty, "the kernel logged no integrity error")
        XCTAssertEqual(try swcrypt("unmap", "rt-tamper").status, 0)
        print("reliability: tamper: \(n) sectors tampered (\(dataFlips.count) data byte flips, \(n - dataFlips.count) metadata-only rewrites) of \(blocks); reads failed on \(failed.count), intact \(intact), altered plaintext returned \(altered)")
    }

    /// The passphrase and key never appear in argv, the environment, the table
    /// (even with --showkeys), or swcrypt's output with --debug.
    func testSecretsStayOutOfSight() throws {
        let ns = try KernelNamespace.byNSID(1)
        let dir = try VM.tempDir()
        defer { _ = try? sh("rm -rf \(dir)") }
        let passphrase = "pp-\(UUID().uuidString)"
        try passphrase.write(toFile: "\(dir)/pass", atomically: true, encoding: .utf8)
        let fmt = try execute([VM.swcrypt, "format", ns.path, "--key-file", "\(dir)/pass", "--yes", "--no-wipe", "--debug",
                               "--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32"])
        XCTAssertEqual(fmt.status, 0, fmt.stderr)
        var scanned = 0
        XCTAssertFalse((fmt.stdout + fmt.stderr).contains(passphrase)); scanned += 1

        // open reads the passphrase from stdin; while it waits, look at every
        // process's command line and environment.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: VM.swcrypt)
        p.arguments = ["open", ns.path, "rt-secret", "--key-file", "-", "--debug"]
        let inp = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = inp; p.standardOutput = out; p.standardError = err
        try p.run()
        inp.fileHandleForWriting.write(Data(passphrase.prefix(10).utf8))   // part of it, not yet EOF
        usleep(300_000)
        var procHits = 0
        for pid in try FileManager.default.contentsOfDirectory(atPath: "/proc") where Int(pid) != nil {
            for file in ["cmdline", "environ"] {
                if let d = FileManager.default.contents(atPath: "/proc/\(pid)/\(file)"),
                   String(decoding: d, as: UTF8.self).contains(passphrase.prefix(10)) { procHits += 1 }
                scanned += 1
            }
        }
        inp.fileHandleForWriting.write(Data(passphrase.dropFirst(10).utf8))
        try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: e, as: UTF8.self))
        XCTAssertEqual(procHits, 0, "the passphrase showed in /proc/*/cmdline or environ")
        let output = String(decoding: o + e, as: UTF8.self)
        XCTAssertFalse(output.contains(passphrase)); scanned += 1

        // The table names a keyring key, never key bytes, even with --showkeys.
        let table = try must(["dmsetup", "table", "--showkeys", "rt-secret"]).stdout
        XCTAssertTrue(table.contains(":logon:"), table)
        let keyField = table.split(separator: " ")[4]
        XCTAssertTrue(keyField.hasPrefix(":"), "key bytes in the table: \(table)")
        // A key given to `map crypt` as a file: its hex is nowhere either.
        var rng = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let hex = key.map { String(format: "%02x", $0) }.joined()
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(dir)/key", contents: Data(key)))
        XCTAssertEqual(try swcrypt("close", "rt-secret").status, 0)
        // Over the LUKS volume just made: --force, or map refuses to hide its header.
        let m = try execute([VM.swcrypt, "map", "crypt", "rt-key", ns.path, "--cipher", "aes-gcm-random", "--key-file", "\(dir)/key", "--debug", "--force"])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertFalse((m.stdout + m.stderr).lowercased().contains(hex)); scanned += 1
        let t2 = try must(["dmsetup", "table", "--showkeys", "rt-key"]).stdout
        XCTAssertFalse(t2.lowercased().contains(hex), t2); scanned += 1
        // Not left in a keyring either: unlinked once the table is loaded.
        XCTAssertFalse(try must(["cat", "/proc/keys"]).stdout.contains("swcrypt:rt-key"))
        XCTAssertEqual(try swcrypt("unmap", "rt-key").status, 0)
        print("reliability: secrets: \(scanned) places scanned (output with --debug, /proc/*/cmdline and environ, dmsetup table --showkeys, /proc/keys), 0 hits")
    }

    /// Secrets stay out of core dumps, two ways. swcrypt's own copies of a
    /// passphrase live in pages marked MADV_DONTDUMP (and locked): checked on a
    /// swcrypt blocked half-way through reading one from a pipe, by finding
    /// every copy in its memory (/proc/PID/mem) and the flags of the mapping
    /// holding it (/proc/PID/smaps VmFlags "dd", "lo"). And swcrypt sets its
    /// core limit to 0 (libcryptsetup's copies are in ordinary heap) and turns
    /// off the Swift runtime's crash report (it prints memory at each register):
    /// killed with SIGABRT it dies at once, prints no report and leaves no core
    /// file, where a control process does.
    func testSecretsStayOutOfCoreDumps() throws {
        let nb = try NullBlk.create("rt-core", sizeMB: 16)
        defer { nb.remove() }
        let dir = try VM.tempDir()
        defer { _ = try? sh("rm -rf \(dir)") }
        let cores = "\(dir)/cores"
        try must(["mkdir", "-p", cores])
        let oldPattern = try must(["cat", "/proc/sys/kernel/core_pattern"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try must(["bash", "-c", "echo '\(cores)/core.%e.%p' > /proc/sys/kernel/core_pattern"])
        defer { _ = try? sh("echo '\(oldPattern)' > /proc/sys/kernel/core_pattern") }

        // The control: an ordinary process with the same limit dumps core.
        let control = try sh("ulimit -c unlimited; sleep 30 & s=$!; sleep 0.3; kill -ABRT $s; wait $s; echo \"status=$?\"")
        XCTAssertTrue(control.stdout.contains("status=134"), control.stdout + control.stderr)

        let marker = "partial-\(UUID().uuidString)"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        // exec: same pid, started with an unlimited core limit of its own.
        p.arguments = ["-c", "ulimit -c unlimited; exec \(VM.swcrypt) format \(nb.path) --yes --no-wipe --key-file -"]
        // Output to a file, so a long crash report never blocks on a full pipe.
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(dir)/out", contents: nil))
        let out = try XCTUnwrap(FileHandle(forWritingAtPath: "\(dir)/out"))
        let inp = Pipe()
        p.standardInput = inp; p.standardOutput = out; p.standardError = out
        try p.run()
        inp.fileHandleForWriting.write(Data(marker.utf8))   // no EOF: swcrypt keeps reading
        let pid = p.processIdentifier
        let scan = """
            import re, sys
            pid, marker = sys.argv[1], sys.argv[2].encode()
            regions, cur = [], None
            for line in open(f"/proc/{pid}/smaps"):
                m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\\S+)", line)
                if m: cur = [int(m[1], 16), int(m[2], 16), m[3], []]; regions.append(cur)
                elif line.startswith("VmFlags:"): cur[3] = line.split(":", 1)[1].split()
            hits = dd = lo = scanned = 0
            with open(f"/proc/{pid}/mem", "rb", 0) as mem:
                for start, end, perm, flags in regions:
                    if "r" not in perm: continue
                    try: mem.seek(start); data = mem.read(end - start)
                    except OSError: continue
                    scanned += 1
                    n = data.count(marker)
                    hits += n; dd += n if "dd" in flags else 0; lo += n if "lo" in flags else 0
                    if n: print(f"hit {start:x}-{end:x} {perm} {' '.join(flags)}")
            print(f"regions={scanned} hits={hits} dd={dd} lo={lo}")
            """
        try scan.write(toFile: "\(dir)/scan.py", atomically: true, encoding: .utf8)
        var counts = [String: Int](), report = ""
        for _ in 0..<10 {   // until swcrypt has read what was written (a scan takes ~15 s under TCG)
            usleep(500_000)
            guard p.isRunning else { break }
            let r = try sh("timeout 300 python3 \(dir)/scan.py \(pid) \(marker)")
            report = r.stdout + r.stderr
            counts = [:]
            for field in (r.lines.last { $0.hasPrefix("regions=") } ?? "").split(separator: " ") {
                let kv = field.split(separator: "=")
                if kv.count == 2, let v = Int(kv[1]) { counts[String(kv[0])] = v }
            }
            if (counts["hits"] ?? 0) > 0 { break }
        }
        let limits = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
        let coreLimit = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map(String.init) ?? "?"

        kill(pid, SIGABRT)
        var waited = 0
        while p.isRunning && waited < 60 { sleep(1); waited += 1 }
        if p.isRunning { kill(pid, SIGKILL) }
        XCTAssertLessThan(waited, 60, "swcrypt did not end within 60 s of SIGABRT")
        p.waitUntilExit()
        try? inp.fileHandleForWriting.close()
        try out.close()
        let output = (try? String(contentsOfFile: "\(dir)/out", encoding: .utf8)) ?? ""
        let files = try FileManager.default.contentsOfDirectory(atPath: cores)

        XCTAssertGreaterThan(counts["hits"] ?? 0, 0, "the partial passphrase was not found in swcrypt's memory: the scan proves nothing (\(report))")
        XCTAssertEqual(counts["dd"], counts["hits"], "a copy of the passphrase is in memory that a core dump would include: \(report)")
        XCTAssertTrue(coreLimit.contains(" 0 ") || coreLimit.hasSuffix(" 0"), "swcrypt's core limit: \(coreLimit)")
        // A fatal signal ends swcrypt with 128+N and one line, never its default action (a dump).
        XCTAssertEqual(p.terminationReason, .exit, output)
        XCTAssertEqual(p.terminationStatus, 128 + SIGABRT, output)
        XCTAssertTrue(output.contains("no core dump"), output)
        XCTAssertTrue(files.contains { $0.hasPrefix("core.sleep") }, "the control process left no core: the test proves nothing (\(files))")
        XCTAssertFalse(files.contains { $0.hasPrefix("core.swcrypt") }, "swcrypt left a core dump: \(files)")
        XCTAssertFalse(output.contains(marker), "the passphrase is in swcrypt's output")
        // No crash report from the Swift runtime: its register dump prints memory.
        XCTAssertFalse(output.contains("Registers:") || output.contains("Backtracing"), "the Swift backtracer ran: \(output)")
        print("reliability: core dumps: \(counts["hits"] ?? 0) copies of a partial passphrase in swcrypt's memory, \(counts["dd"] ?? 0) in pages excluded from dumps (\(counts["lo"] ?? 0) locked), \(counts["regions"] ?? 0) regions scanned; core limit \(coreLimit.split(separator: " ", omittingEmptySubsequences: true).suffix(3).prefix(2).joined(separator: "/")); SIGABRT: control dumped core, swcrypt did not (ended in \(waited) s)")
    }

    /// A pipe core_pattern (systemd-coredump, apport) ignores RLIMIT_CORE, and with
    /// fs.suid_dumpable = 2 (what systemd-coredump sets) it even receives
    /// non-dumpable processes (issue 13.8). swcrypt, waiting for a passphrase,
    /// killed with SIGSEGV, SIGABRT or SIGQUIT must reach no handler; a control
    /// process with a core limit of 0 does.
    func testNoDumpReachesAPipeCorePattern() throws {
        let nb = try NullBlk.create("rt-pipe", sizeMB: 16)
        defer { nb.remove() }
        let dir = try VM.tempDir()
        defer { _ = try? sh("rm -rf \(dir)") }
        try "#!/bin/sh\necho \"$1\" >> \(dir)/piped\ncat > /dev/null\n".write(toFile: "\(dir)/handler", atomically: true, encoding: .utf8)
        try must(["chmod", "755", "\(dir)/handler"])
        let oldPattern = try must(["cat", "/proc/sys/kernel/core_pattern"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let oldSuid = try must(["cat", "/proc/sys/fs/suid_dumpable"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try must(["bash", "-c", "echo '|\(dir)/handler %e' > /proc/sys/kernel/core_pattern && echo 2 > /proc/sys/fs/suid_dumpable"])
        defer { _ = try? sh("echo '\(oldPattern)' > /proc/sys/kernel/core_pattern; echo \(oldSuid) > /proc/sys/fs/suid_dumpable") }
        func piped() -> [String] {
            ((try? String(contentsOfFile: "\(dir)/piped", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        // The control: the core limit 0 does not stop the pipe.
        _ = try sh("ulimit -c 0; sleep 30 & s=$!; sleep 0.3; kill -SEGV $s; wait $s; sleep 1")
        XCTAssertTrue(piped().contains("sleep"), "the control process reached no handler: the test proves nothing (\(piped()))")
        var endings = [String]()
        for sig in ["SEGV", "ABRT", "QUIT"] {
            let r = try sh("""
                mkfifo \(dir)/fifo-\(sig)
                \(VM.swcrypt) format \(nb.path) --batch-mode --no-wipe --key-file \(dir)/fifo-\(sig) 2>\(dir)/err-\(sig) & p=$!
                # Once swcrypt waits on the FIFO, its handlers are in place: a signal sent
                # during its start-up meets the Swift runtime's own handler, which can
                # swallow it (the wait then never ended under load), or the default action.
                # Waiting on the FIFO: blocked in openat (257) for half a second on end
                # (start-up's own opens never block that long).
                n=0
                for i in $(seq 1200); do
                    if [ "$(cut -d' ' -f1 /proc/$p/syscall 2>/dev/null)" = 257 ]; then n=$((n + 1)); else n=0; fi
                    [ $n -ge 5 ] && break
                    sleep 0.1
                done
                kill -\(sig) $p
                for i in $(seq 300); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
                if kill -0 $p 2>/dev/null; then kill -KILL $p; echo "status=still running 30 s after SIG\(sig)"; fi
                wait $p; echo "status=$?"; sleep 1
                """)
            let err = (try? String(contentsOfFile: "\(dir)/err-\(sig)", encoding: .utf8)) ?? ""
            XCTAssertTrue(err.contains("no core dump"), "\(sig): \(err)")
            endings.append("\(sig) -> \(r.lines.first { $0.hasPrefix("status=") } ?? "?")")
        }
        XCTAssertFalse(piped().contains { $0.hasPrefix("swcrypt") }, "a dump of swcrypt reached the pipe handler: \(piped())")
        print("reliability: pipe core_pattern with suid_dumpable 2: control reached the handler, swcrypt did not (\(endings.joined(separator: ", ")))")
    }

    /// Two opens of the same volume to the same name at once: one wins, the
    /// other fails cleanly with exit 5; no half-built stack either way.
    func testConcurrentOpens() throws {
        let (ns, dir) = try formattedPlainNamespace()   // 4096+0: a two-layer (dm-integrity) stack
        defer { _ = try? sh("rm -rf \(dir)") }
        var rounds = 0, conflicts = 0
        for target in [["rt-c", "rt-c"], ["rt-c1", "rt-c2"]] {
            let r = try sh("""
                \(VM.swcrypt) open \(ns.path) \(target[0]) --key-file \(dir)/pass 2>\(dir)/e1 & a=$!
                \(VM.swcrypt) open \(ns.path) \(target[1]) --key-file \(dir)/pass 2>\(dir)/e2 & b=$!
                wait $a; echo "a=$?"; wait $b; echo "b=$?"
                """)
            let codes = r.lines.compactMap { l -> Int32? in l.count > 2 ? Int32(l.dropFirst(2)) : nil }
            let e1 = try String(contentsOfFile: "\(dir)/e1", encoding: .utf8), e2 = try String(contentsOfFile: "\(dir)/e2", encoding: .utf8)
            XCTAssertEqual(codes.sorted(), [0, 5], "\(r.stdout) \(e1) \(e2)")
            let loser = codes.first == 5 ? "e1" : "e2"
            let message = try String(contentsOfFile: "\(dir)/\(loser)", encoding: .utf8)
            XCTAssertEqual(message.split(separator: "\n").count, 1, message)
            // Exactly one complete stack: the crypt mapping and its _dif layer.
            let names = try dmNames().filter { $0.hasPrefix("rt-c") }
            XCTAssertEqual(names.count, 2, "\(names)")
            let winner = codes.first == 0 ? target[0] : target[1]
            XCTAssertTrue(names.contains(winner) && names.contains { $0.hasPrefix(winner) && $0 != winner }, "\(names)")
            XCTAssertEqual(try swcrypt("close", winner).status, 0)
            XCTAssertTrue(try dmNames().filter { $0.hasPrefix("rt-c") }.isEmpty)
            rounds += 1; conflicts += 1
        }
        print("reliability: concurrency: \(rounds) races (same name, two names on one device), \(conflicts) clean exit-5 losers, no half stack")
    }

    /// The per-device lock (issue 13.6): an open waiting for its passphrase holds no
    /// lock (a second open goes through; the first then finds the device in use and
    /// exits 5), and swcrypt waits on libcryptsetup's own lock file
    /// /run/cryptsetup/L_MAJ:MIN, as cryptsetup does, instead of acting beside it.
    func testLockIsNotHeldAcrossThePromptAndIsCryptsetups() throws {
        let (ns, dir) = try formattedPlainNamespace()
        defer { _ = try? sh("rm -rf \(dir)") }
        // 1. A passphrase that does not come: the second open must not wait for it.
        let r = try sh("""
            mkfifo \(dir)/fifo
            \(VM.swcrypt) open \(ns.path) rt-wait --key-file \(dir)/fifo 2>\(dir)/e1 & a=$!
            sleep 1
            timeout 60 \(VM.swcrypt) open \(ns.path) rt-fast --key-file \(dir)/pass 2>\(dir)/e2; echo "b=$?"
            cat \(dir)/pass > \(dir)/fifo
            wait $a; echo "a=$?"
            """)
        let e1 = (try? String(contentsOfFile: "\(dir)/e1", encoding: .utf8)) ?? ""
        XCTAssertTrue(r.stdout.contains("b=0"), "the second open waited behind the first one's prompt: \(r.stdout) \(r.stderr)")
        XCTAssertTrue(r.stdout.contains("a=5"), "the first open did not find the device in use: \(r.stdout) \(e1)")
        XCTAssertEqual(e1.split(separator: "\n").count, 1, e1)
        XCTAssertFalse(try dmNames().contains("rt-wait"))
        XCTAssertEqual(try swcrypt("close", "rt-fast").status, 0)
        // 2. libcryptsetup's lock file, held by another process for 3 s: swcrypt waits for it.
        let mm = try must(["bash", "-c", "printf '%d:%d' 0x$(stat -c %t \(ns.path)) 0x$(stat -c %T \(ns.path))"]).stdout
        let t = try sh("""
            mkdir -p /run/cryptsetup
            flock -x /run/cryptsetup/L_\(mm) sleep 3 & h=$!
            sleep 0.5
            s=$(date +%s.%N)
            \(VM.swcrypt) open \(ns.path) rt-late --key-file \(dir)/pass; rc=$?
            e=$(date +%s.%N)
            wait $h
            echo "rc=$rc waited=$(awk -v s=$s -v e=$e 'BEGIN { printf "%.1f", e - s }')"
            """)
        XCTAssertTrue(t.stdout.contains("rc=0"), "\(t.stdout) \(t.stderr)")
        let waited = Double(t.stdout.split(separator: "=").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "") ?? 0
        XCTAssertGreaterThanOrEqual(waited, 2.0, "swcrypt did not wait for libcryptsetup's lock: \(t.stdout)")
        XCTAssertEqual(try swcrypt("close", "rt-late").status, 0)
        print("reliability: locks: an open waiting at its prompt held no lock; open waited \(waited) s on /run/cryptsetup/L_\(mm)")
    }

    /// nsid 2 (4096+0) formatted as a LUKS2 volume without initialisation; the
    /// passphrase is in DIR/pass.
    private func formattedPlainNamespace() throws -> (KernelNamespace, String) {
        let ns = try KernelNamespace.byNSID(2)
        let dir = try VM.tempDir()
        try "pass-\(UUID().uuidString)".write(toFile: "\(dir)/pass", atomically: true, encoding: .utf8)
        let fmt = try execute([VM.swcrypt, "format", ns.path, "--key-file", "\(dir)/pass", "--batch-mode", "--no-wipe",
                               "--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32"])
        XCTAssertEqual(fmt.status, 0, fmt.stderr)
        return (ns, dir)
    }

    /// O_DIRECT I/O on a device with one aligned 4 KiB buffer.
    private func directIO(_ path: String, write: Bool = true, _ body: (Int32, UnsafeMutableRawPointer) throws -> Void) throws {
        let fd = open(path, (write ? O_RDWR : O_RDONLY) | 0o40000 /* O_DIRECT, x86-64 */)
        guard fd >= 0 else {
            XCTFail("cannot open \(path): \(String(cString: strerror(errno)))")
            return
        }
        defer { close(fd) }
        var raw: UnsafeMutableRawPointer?
        XCTAssertEqual(posix_memalign(&raw, 4096, 4096), 0)
        defer { free(raw) }
        try body(fd, raw!)
    }
}
