import Foundation
import XCTest

/// Network-bound unlock through clevis and tang (issue 15, part 3) on an inline
/// volume: Debian's tangd served on loopback inside the VM (socat accepts, tangd
/// answers each connection, as tangd.socket does), clevis 19 from Debian, and
/// cryptsetup 2.8 as the witness of the token clevis itself reads.
final class ClevisIntegrationTests: LUKSTestCase {
    /// The ports socat listens on.
    var servers = [Int]()

    override func setUpWithError() throws {
        try super.setUpWithError()
        for tool in ["/usr/bin/clevis", "/usr/bin/clevis-luks-list", "/usr/libexec/tangd", "/usr/bin/socat", "/usr/bin/curl"] {
            guard FileManager.default.isExecutableFile(atPath: tool) else {
                throw TestFailure("\(tool) is missing: Scripts/setup installs clevis, tang, socat and curl (Scripts/ready checks them)")
            }
        }
        try must(["ip", "link", "set", "lo", "up"])
        try Data("first passphrase".utf8).write(to: URL(fileURLWithPath: "\(dir)/p1"))
    }

    override func tearDown() {
        for port in servers { stop(port) }
        // What the servers started for connections still open: tangd, the silent "sleep".
        _ = try? execute(["pkill", "-KILL", "-f", "^/usr/libexec/tangd \(dir)/"])
        _ = try? execute(["pkill", "-KILL", "-f", "^sleep 600$"])
        super.tearDown()
    }

    func stop(_ port: Int) {
        _ = try? execute(["pkill", "-KILL", "-f", "^/usr/bin/socat TCP-LISTEN:\(port),"])
        servers.removeAll { $0 == port }
        // A server left behind would keep this test's output open (and the VM up).
        let answers = (try? execute(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"]).status) == 0
        XCTAssertFalse(answers, "port \(port) still answers after its server was killed")
    }

    /// Serves `command` for each connection on 127.0.0.1:port, until `stop(port)` or
    /// tearDown. Started directly, not from a shell whose output is read: socat would
    /// inherit that pipe and the read would never end.
    func serve(port: Int, _ command: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
        p.arguments = ["TCP-LISTEN:\(port),bind=127.0.0.1,reuseaddr,fork", "EXEC:\(command)"]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        servers.append(port)
        for _ in 0..<100 where try execute(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"]).status != 0 { usleep(100_000) }
    }

    /// A tang server with fresh keys; its advertisement saved (so bind asks nothing).
    func tang(port: Int) throws -> String {
        let db = "\(dir)/tang-\(port)"
        try must(["mkdir", "-p", db])
        try must(["/usr/libexec/tangd-keygen", db])
        try serve(port: port, "/usr/libexec/tangd \(db)")
        let adv = "\(dir)/adv-\(port).json"
        try must(["curl", "-sfo", adv, "http://127.0.0.1:\(port)/adv"])
        return adv
    }

    func testTangBindOpenUnbind() throws {
        let ns = try KernelNamespace.byNSID(1)
        XCTAssertEqual(ns.metadataBytes, 64, "nsid 1 should be 4096+64 (Scripts/vm)")
        try VM.wipeSignatures(ns.path)
        defer { _ = try? execute([VM.swcrypt, "close", "cl-vol"]) }
        let f = try execute([VM.swcrypt, "format", ns.path, "--key-file", "\(dir)/p1", "--yes", "--no-wipe"] + fastPBKDF)
        XCTAssertEqual(f.status, 0, f.stderr)
        let adv = try tang(port: 8801)
        let config = #"{"url":"http://127.0.0.1:8801","adv":"\#(adv)"}"#

        // bind: a new keyslot and a clevis token for it, authenticated by the passphrase.
        let bind = try execute([VM.swcrypt, "clevis", "bind", ns.path, "tang", config, "--key-file", "\(dir)/p1"] + fastPBKDF)
        XCTAssertEqual(bind.status, 0, bind.stderr)
        XCTAssertTrue(bind.stderr.contains("Key slot 1 created for clevis tang"), bind.stderr)
        // The witness reads clevis's token format: type, keyslot as a string, a JWE object.
        let exported = try must([cryptsetup, "token", "export", "--token-id", "0", ns.path]).stdout
        let token = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(exported.utf8)) as? [String: Any])
        XCTAssertEqual(token["type"] as? String, "clevis")
        XCTAssertEqual(token["keyslots"] as? [String], ["1"])
        XCTAssertNotNil((token["jwe"] as? [String: Any])?["protected"])
        // clevis's own reader (its luks list, run with cryptsetup 2.8 on PATH) sees the binding.
        let witnessPath = URL(fileURLWithPath: cryptsetup).deletingLastPathComponent().path
        let list = try sh("PATH=\(witnessPath):$PATH clevis luks list -d \(ns.path)")
        XCTAssertEqual(list.stdout.trimmingCharacters(in: .whitespacesAndNewlines), #"1: tang '{"url":"http://127.0.0.1:8801"}'"#, list.stderr)
        XCTAssertEqual(try must([VM.swcrypt, "clevis", "list", ns.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                       #"1: tang '{"url":"http://127.0.0.1:8801"}'"#)

        // open without a passphrase: tang answers, clevis decrypt gives the slot's passphrase.
        let open = try execute([VM.swcrypt, "open", ns.path, "cl-vol", "--token-only"])
        XCTAssertEqual(open.status, 0, open.stderr)
        XCTAssertEqual(try must(["dmsetup", "table", "cl-vol"]).stdout.contains("integrity:"), true)
        try must(["bash", "-c", "head -c 1048576 /dev/urandom > \(dir)/data && dd if=\(dir)/data of=/dev/mapper/cl-vol bs=1M oflag=direct status=none"])
        try must([VM.swcrypt, "close", "cl-vol"])
        // clevis luks unlock (the system path where cryptsetup is 2.8) opens it too, and reads the data back.
        let unlock = try sh("PATH=\(witnessPath):$PATH clevis luks unlock -d \(ns.path) -n cl-vol")
        XCTAssertEqual(unlock.status, 0, unlock.stderr)
        XCTAssertEqual(try must(["bash", "-c", "cmp <(head -c 1048576 /dev/mapper/cl-vol) \(dir)/data && echo same"]).stdout, "same\n")
        try must([cryptsetup, "close", "cl-vol"])

        // tang stopped: --token-only fails with clevis's reason (exit 2); the passphrase still opens.
        stop(8801)
        let down = try execute([VM.swcrypt, "open", ns.path, "cl-vol", "--token-only"])
        XCTAssertEqual(down.status, 2, down.stderr)
        XCTAssertTrue(down.stderr.contains("clevis token 0 (tang"), down.stderr)
        XCTAssertTrue(down.stderr.contains("clevis decrypt failed"), down.stderr)
        XCTAssertFalse(try dmNames().contains("cl-vol"))
        let fallback = try execute([VM.swcrypt, "open", ns.path, "cl-vol", "--key-file", "\(dir)/p1"])
        XCTAssertEqual(fallback.status, 0, fallback.stderr)
        XCTAssertTrue(fallback.stderr.contains("warning: no token opened the volume"), fallback.stderr)
        try must([VM.swcrypt, "close", "cl-vol"])

        // unbind: the token and its keyslot go; the passphrase's slot stays.
        let unbind = try execute([VM.swcrypt, "clevis", "unbind", ns.path, "-S", "1", "-q"])
        XCTAssertEqual(unbind.status, 0, unbind.stderr)
        let dump = try must([cryptsetup, "luksDump", "--dump-json-metadata", ns.path]).stdout
        let meta = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any])
        XCTAssertEqual((meta["keyslots"] as? [String: Any])?.keys.sorted(), ["0"])
        XCTAssertEqual((meta["tokens"] as? [String: Any])?.count, 0)
        let again = try execute([VM.swcrypt, "clevis", "unbind", ns.path, "-S", "1", "-q"])
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertTrue(again.stderr.contains("no clevis token is bound to keyslot 1"), again.stderr)
    }

    /// A tang URL that accepts and never answers: open gives up after --token-timeout
    /// (crypttab's token-timeout=), kills clevis and its curl, and says so.
    func testTokenTimeout() throws {
        let nb = try NullBlk.create("cl-to", sizeMB: 48)
        defer { nb.remove() }
        let f = try execute([VM.swcrypt, "format", nb.path, "--key-file", "\(dir)/p1", "--yes", "--no-wipe", "--integrity-mode", "no-journal"] + fastPBKDF)
        XCTAssertEqual(f.status, 0, f.stderr)
        // Bound with a real server's advertisement, but the URL is a silent port.
        let adv = try tang(port: 8802)
        try serve(port: 8803, "sleep 600")
        let config = #"{"url":"http://127.0.0.1:8803","adv":"\#(adv)"}"#
        try must([VM.swcrypt, "clevis", "bind", nb.path, "tang", config, "--key-file", "\(dir)/p1"] + fastPBKDF)
        let started = Date()
        let r = try execute([VM.swcrypt, "open", nb.path, "cl-to-vol", "--token-only", "--token-timeout", "3"])
        let took = Date().timeIntervalSince(started)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("gave no answer within 3 s"), r.stderr)
        XCTAssertLessThan(took, 30, "open waited \(took) s")
        XCTAssertFalse(try dmNames().contains("cl-to-vol"))
        XCTAssertEqual(try execute(["pgrep", "-f", "clevis-decrypt-tang"]).status, 1, "clevis decrypt was left running")
    }

    /// TPM2 through clevis's tpm2 pin, with a software TPM: swtpm behind the kernel's
    /// vTPM proxy (tpm_vtpm_proxy) inside the VM, so the guest has /dev/tpmrm0 as
    /// with a real chip (not a TPM attached to QEMU: this one needs no change to
    /// the VM). Bind, clevis luks list, open without a passphrase; the TPM gone:
    /// --token-only fails with the reason and the passphrase still opens.
    func testTPM2BindOpen() throws {
        for tool in ["/usr/bin/swtpm", "/usr/bin/clevis-encrypt-tpm2"] {
            guard FileManager.default.isExecutableFile(atPath: tool) else {
                throw TestFailure("\(tool) is missing: Scripts/setup installs swtpm and clevis-tpm2")
            }
        }
        try VM.loadModules("tpm_vtpm_proxy")
        guard FileManager.default.fileExists(atPath: "/dev/vtpmx") else {
            throw XCTSkip("skipped, because this kernel has no vTPM proxy (/dev/vtpmx: CONFIG_TCG_VTPM_PROXY, a module in Debian's kernel); Scripts/test runs this class on Debian's kernel too")
        }
        try must(["mkdir", "-p", "\(dir)/tpm"])
        let tpm = Process()
        tpm.executableURL = URL(fileURLWithPath: "/usr/bin/swtpm")
        tpm.arguments = ["chardev", "--vtpm-proxy", "--tpm2", "--tpmstate", "dir=\(dir)/tpm", "--flags", "startup-clear"]
        tpm.standardInput = FileHandle.nullDevice
        tpm.standardOutput = FileHandle.nullDevice
        tpm.standardError = FileHandle.nullDevice
        try tpm.run()
        defer { if tpm.isRunning { tpm.terminate() } }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: "/dev/tpmrm0") { usleep(100_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/dev/tpmrm0"), "swtpm made no /dev/tpmrm0")

        let nb = try NullBlk.create("cl-tpm", sizeMB: 48)
        defer { nb.remove(); _ = try? execute([VM.swcrypt, "close", "cl-tpm-vol"]) }
        let f = try execute([VM.swcrypt, "format", nb.path, "--key-file", "\(dir)/p1", "--yes", "--no-wipe", "--integrity-mode", "no-journal"] + fastPBKDF)
        XCTAssertEqual(f.status, 0, f.stderr)
        let bind = try execute([VM.swcrypt, "clevis", "bind", nb.path, "tpm2", "{}", "--key-file", "\(dir)/p1"] + fastPBKDF)
        XCTAssertEqual(bind.status, 0, bind.stderr)
        XCTAssertTrue(bind.stderr.contains("Key slot 1 created for clevis tpm2"), bind.stderr)
        let witnessPath = URL(fileURLWithPath: cryptsetup).deletingLastPathComponent().path
        let theirs = try sh("PATH=\(witnessPath):$PATH clevis luks list -d \(nb.path)").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ours = try must([VM.swcrypt, "clevis", "list", nb.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(theirs.hasPrefix("1: tpm2 '"), theirs)
        XCTAssertEqual(ours, theirs)

        let open = try execute([VM.swcrypt, "open", nb.path, "cl-tpm-vol", "--token-only"])
        XCTAssertEqual(open.status, 0, open.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/dev/mapper/cl-tpm-vol"))
        try must([VM.swcrypt, "close", "cl-tpm-vol"])

        // The TPM gone (swtpm stopped: /dev/tpmrm0 disappears with it).
        tpm.terminate()
        tpm.waitUntilExit()
        for _ in 0..<50 where FileManager.default.fileExists(atPath: "/dev/tpmrm0") { usleep(100_000) }
        let down = try execute([VM.swcrypt, "open", nb.path, "cl-tpm-vol", "--token-only", "--token-timeout", "20"])
        XCTAssertEqual(down.status, 2, down.stderr)
        XCTAssertTrue(down.stderr.contains("clevis token 0 (tpm2"), down.stderr)
        XCTAssertFalse(try dmNames().contains("cl-tpm-vol"))
        let fallback = try execute([VM.swcrypt, "open", nb.path, "cl-tpm-vol", "--key-file", "\(dir)/p1", "--token-timeout", "20"])
        XCTAssertEqual(fallback.status, 0, fallback.stderr)
        try must([VM.swcrypt, "close", "cl-tpm-vol"])
    }
}
