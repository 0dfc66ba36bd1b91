import XCTest
@testable import SwcryptCore
@testable import SwcryptSystem
@testable import SwcryptKit

/// What `swcrypt check` gathers, against fixture trees for /sys, /proc and /lib/modules.
final class CheckerTests: FixtureTreeTestCase {
    let release = "6.12.95+deb12-amd64"
    override var fixtureName: String { "preflight" }

    func preflight(identify: (@Sendable (NVMeNamespaceTarget) -> Result<IdentifyNamespace, SwcryptError>)? = nil) -> Checker {
        Checker(sysfs: Sysfs(root: root + "/sys", procRoot: root + "/proc"), modulesRoot: root, release: release,
                  isRoot: false, benchmarkSeconds: 0, identify: identify)
    }

    func testModuleStatesFromSysModuleAndLists() throws {
        try write("sys/module/dm_mod/initstate", "live")          // loaded
        try write("sys/module/aegis128/parameters/x", "1")        // built in: no initstate
        try write("lib/modules/\(release)/modules.builtin", "kernel/crypto/gcm.ko")
        try write("lib/modules/\(release)/modules.dep", """
            kernel/drivers/md/dm-crypt.ko.xz: kernel/drivers/md/dm-bufio.ko.xz
            kernel/crypto/authenc.ko.zst:
            kernel/drivers/md/dm-bufio.ko.xz:
            """)
        let states = Dictionary(uniqueKeysWithValues: preflight().moduleFacts().map { ($0.name, $0.state) })
        XCTAssertEqual(states, [
            "dm_mod": .loaded, "aegis128": .builtIn, "gcm": .builtIn, "dm_crypt": .loadable, "authenc": .loadable,
            "dm_integrity": .missing, "chacha20poly1305": .missing,
        ])
    }

    func testModuleStatesWithoutLists() throws {
        try write("sys/module/dm_crypt/initstate", "live")
        let facts = preflight().moduleFacts()
        XCTAssertEqual(facts.map(\.name), ModuleFact.inspected.map(\.name))
        XCTAssertEqual(facts.first { $0.name == "dm_crypt" }?.state, .loaded)
        XCTAssertEqual(facts.first { $0.name == "dm_integrity" }?.state, .unknown)
        XCTAssertEqual(preflight().modulesDirectory, root + "/lib/modules/\(release)")
    }

    func testNoDeviceMapperNeedsNoRoot() throws {
        try write("proc/misc", "234 btrfs-control\n258 vsock")
        var modules = preflight().moduleFacts()
        let dm = preflight().deviceMapperFacts(&modules)
        XCTAssertEqual(dm.access, .unavailable("the kernel has none (not in /proc/misc, no module lists for modprobe)"))
        // With device-mapper registered, an unprivileged user only learns that versions are unknown.
        try write("proc/misc", "236 device-mapper\n234 btrfs-control")
        XCTAssertEqual(preflight().deviceMapperFacts(&modules).access, .notRoot)
    }

    func testNamespaceDeviceFacts() throws {
        let ns = "devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1"
        try write("sys/\(ns)/dev", "259:0")
        try write("sys/\(ns)/nsid", "1")
        try write("sys/\(ns)/size", "1048576")
        try write("sys/\(ns)/metadata_bytes", "64")
        try write("sys/\(ns)/integrity/format", "nop")
        try write("sys/\(ns)/integrity/tag_size", "0")
        try write("sys/\(ns)/queue/logical_block_size", "4096")
        try write("sys/\(ns)/queue/physical_block_size", "4096")
        try write("sys/\(ns)/nvme0n1p1/dev", "259:1")
        try write("sys/\(ns)/nvme0n1p1/partition", "1")
        try write("sys/\(ns)/nvme0n1p1/size", "2048")
        try link("sys/class/block/nvme0n1", "../../\(ns)")
        try link("sys/class/block/nvme0n1p1", "../../\(ns)/nvme0n1p1")
        try write("proc/self/mountinfo", "22 1 259:1 / /mnt rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw")

        let sysfs = Sysfs(root: root + "/sys", procRoot: root + "/proc")
        let device = try XCTUnwrap(sysfs.blockDevice(name: "nvme0n1"))
        let identify = try IdentifyNamespace(bytes: qemuIdentifyNamespace(flbas: 7))
        let facts = preflight { target in
            target.nsid == 1 ? .success(identify) : .failure(SwcryptError(.wrongDevice, "unexpected nsid"))
        }.deviceFacts(BlockTarget(path: "/dev/nvme0n1", device: device))
        XCTAssertEqual(facts.kind, .nvmeNamespace(nsid: 1))
        XCTAssertEqual(facts.kindDescription, "NVMe namespace 1")
        XCTAssertEqual(facts.metadataBytes, 64)
        XCTAssertEqual(facts.integrity, .nop)
        XCTAssertEqual(facts.sizeBytes, 1048576 * 512)
        XCTAssertEqual(facts.mounts, ["/dev/nvme0n1p1 on /mnt"])
        XCTAssertEqual(facts.namespace?.identify.inUse?.geometry, "4096+64")
        XCTAssertEqual(facts.namespace?.kernel.metadataBytes, 64)
        XCTAssertNil(facts.namespaceProblem)

        // Mounted: blocking, with the mount named.
        let report = CheckReport(facts: CheckFacts(
            kernelRelease: release, isRoot: false, modulesDirectory: "", modules: [], deviceMapper: DeviceMapperFacts(.notRoot),
            aeads: [], cryptsetupVersion: "2.8.8", cryptsetupHasInlineTags: true, device: facts))
        XCTAssertEqual(report.findings.first { $0.item == "in use" }?.detail, "in use: mounted: /dev/nvme0n1p1 on /mnt")
        XCTAssertEqual(report.exitStatus, .failure)

        let failing = preflight { _ in .failure(SwcryptError(.permission, device: "/dev/nvme0n1", "identify namespace failed", cause: "Permission denied")) }
            .deviceFacts(BlockTarget(path: "/dev/nvme0n1", device: device))
        XCTAssertNil(failing.namespace)
        XCTAssertEqual(failing.namespaceProblem, "/dev/nvme0n1: identify namespace failed (Permission denied)")
    }

    func testBenchmarkParametersFollowDMCrypt() {
        func params(_ i: Int) -> AEADBenchmark.Parameters {
            let c = AuthenticatedCipher.common[i]
            return Checker.benchmarkParameters(c, algorithm: KernelCipher(c.cipher, integrity: c.integrity).algorithm)
        }
        XCTAssertEqual(params(0), AEADBenchmark.Parameters(algorithm: "aegis128", encryptionKeyBytes: 16, ivBytes: 16, tagBytes: 16))
        XCTAssertEqual(params(1), AEADBenchmark.Parameters(algorithm: "gcm(aes)", encryptionKeyBytes: 32, ivBytes: 12, tagBytes: 16))
        XCTAssertEqual(params(2), AEADBenchmark.Parameters(algorithm: "rfc7539(chacha20,poly1305)", encryptionKeyBytes: 32, ivBytes: 12, tagBytes: 16))
        XCTAssertEqual(params(3), AEADBenchmark.Parameters(algorithm: "authenc(hmac(sha256),xts(aes))", encryptionKeyBytes: 64,
                                                           authenticationKeyBytes: 32, ivBytes: 16, tagBytes: 32))
        XCTAssertEqual(params(4).authenticationKeyBytes, 64)
    }

    func testAuthencKeyLayout() {
        let key = AEADBenchmark.keyBytes(AEADBenchmark.Parameters(algorithm: "authenc(hmac(sha256),xts(aes))", encryptionKeyBytes: 64,
                                                                  authenticationKeyBytes: 32, ivBytes: 16, tagBytes: 32))
        XCTAssertEqual(key.count, 8 + 32 + 64)
        // rtattr { len 8, type CRYPTO_AUTHENC_KEYA_PARAM }, host order; then the cipher key length big-endian.
        XCTAssertEqual(Array(key[0..<8]), [8, 0, 1, 0, 0, 0, 0, 64])
        XCTAssertEqual(Array(key[40...]), AEADBenchmark.keyBytes(.init(algorithm: "xts(aes)", encryptionKeyBytes: 64, ivBytes: 16, tagBytes: 16)))
        let plain = AEADBenchmark.keyBytes(.init(algorithm: "aegis128", encryptionKeyBytes: 16, ivBytes: 16, tagBytes: 16))
        XCTAssertEqual(plain.count, 16)
    }

    func testControlMessageLayout() {
        var buffer = [UInt8]()
        // linux/if_alg.h: SOL_ALG 279, ALG_SET_IV 2, ALG_SET_OP 3.
        AEADBenchmark.appendControl(&buffer, type: 2, data: [4, 0, 0, 0] + [UInt8](repeating: 7, count: 12))
        // struct cmsghdr on 64-bit Linux: size_t len, int level, int type; data 8-aligned.
        XCTAssertEqual(buffer.count, 16 + 16)
        XCTAssertEqual(buffer[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }, 16 + 16)
        XCTAssertEqual(Array(buffer[8..<12]), AEADBenchmark.bytes(of: Int32(279)))
        XCTAssertEqual(Array(buffer[12..<16]), AEADBenchmark.bytes(of: Int32(2)))
        XCTAssertEqual(Array(buffer[16..<20]), [4, 0, 0, 0])
        AEADBenchmark.appendControl(&buffer, type: 3, data: [1, 0, 0, 0])
        XCTAssertEqual(buffer.count, 32 + 24, "CMSG_SPACE(4) pads to 8")
    }
}
