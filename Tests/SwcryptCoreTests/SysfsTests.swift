import XCTest
@testable import SwcryptSystem
import SwcryptCore

/// Sysfs reading against a captured-style tree built in a temporary root.
final class SysfsTests: FixtureTreeTestCase {
    override var fixtureName: String { "sysfs" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        let fm = FileManager.default
        let ns = "devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1"
        try write("\(ns)/dev", "259:0")
        try write("\(ns)/nsid", "1")
        try write("\(ns)/size", "1048576")
        try write("\(ns)/metadata_bytes", "64")
        try write("\(ns)/integrity/format", "nop")
        try write("\(ns)/integrity/tag_size", "0")
        try write("\(ns)/queue/logical_block_size", "4096")
        try write("\(ns)/queue/physical_block_size", "4096")
        try write("\(ns)/nvme0n1p1/dev", "259:1")
        try write("\(ns)/nvme0n1p1/partition", "1")
        try write("\(ns)/nvme0n1p1/size", "2048")
        try fm.createDirectory(atPath: root + "/\(ns)/holders", withIntermediateDirectories: true)
        try link("\(ns)/nvme0n1p1/holders/dm-0", "../../../../../../../virtual/block/dm-0")
        try write("devices/virtual/block/dm-0/dm/name", "swcrypt-test")
        try write("devices/virtual/block/dm-0/dev", "253:0")
        try link("\(ns)/device", "../../nvme0")
        try link("class/block/nvme0n1", "../../\(ns)")
        try link("class/block/nvme0n1p1", "../../\(ns)/nvme0n1p1")
        try link("class/block/dm-0", "../../devices/virtual/block/dm-0")
        try link("class/nvme/nvme0", "../../devices/pci0000:00/0000:00:04.0/nvme/nvme0")
        try link("dev/block/259:0", "../../\(ns)")
    }

    func testNamespace() throws {
        let sysfs = Sysfs(root: root, procRoot: root + "/proc")
        XCTAssertEqual(sysfs.blockDeviceName(major: 259, minor: 0), "nvme0n1")
        let d = try XCTUnwrap(sysfs.blockDevice(name: "nvme0n1"))
        XCTAssertEqual(d.kind, .nvmeNamespace(nsid: 1))
        XCTAssertEqual(d.logicalBlockSize, 4096)
        XCTAssertEqual(d.metadataBytes, 64)
        XCTAssertEqual(d.integrity, .nop)
        XCTAssertEqual(d.sizeBytes, 1048576 * 512)
        XCTAssertEqual(d.partitions, ["nvme0n1p1"])
        XCTAssertEqual(d.holders, [Holder(kernelName: "dm-0", mappingName: "swcrypt-test")])
        XCTAssertEqual(sysfs.nvmeControllers(ofNamespace: "nvme0n1"), ["nvme0"])
        XCTAssertEqual(sysfs.nvmeNamespaces(ofController: "nvme0"), ["nvme0n1"])
    }

    func testPartitionAndDM() throws {
        let sysfs = Sysfs(root: root, procRoot: root + "/proc")
        let p = try XCTUnwrap(sysfs.blockDevice(name: "nvme0n1p1"))
        XCTAssertEqual(p.kind, .partition(of: "nvme0n1", number: 1))
        XCTAssertEqual(p.logicalBlockSize, 4096)
        XCTAssertEqual(p.kindDescription, "partition 1 of nvme0n1")
        let dm = try XCTUnwrap(sysfs.blockDevice(name: "dm-0"))
        XCTAssertEqual(dm.kind, .deviceMapper(name: "swcrypt-test"))
    }

    /// Native multipath (dual-port enterprise drives; QEMU >= 8 shares namespaces):
    /// the head nvme1n1 hangs off the subsystem, the controller lists only the
    /// hidden path nvme1c1n1.
    func testMultipathHead() throws {
        let subsys = "devices/virtual/nvme-subsystem/nvme-subsys1"
        let ctrl = "devices/pci0000:00/0000:00:05.0/nvme/nvme1"
        try write("\(subsys)/nvme1n1/dev", "259:5")
        try write("\(subsys)/nvme1n1/nsid", "1")
        try write("\(subsys)/nvme1n1/size", "1024")
        try write("\(subsys)/nvme1n1/queue/logical_block_size", "4096")
        try link("\(subsys)/nvme1n1/device", "../../nvme-subsys1")
        try link("\(subsys)/nvme1", "../../../pci0000:00/0000:00:05.0/nvme/nvme1")
        try write("\(ctrl)/nvme1c1n1/dev", "259:4")
        try write("\(ctrl)/nvme1c1n1/nsid", "1")
        try link("class/block/nvme1n1", "../../\(subsys)/nvme1n1")
        try link("class/block/nvme1c1n1", "../../\(ctrl)/nvme1c1n1")
        try link("class/nvme/nvme1", "../../\(ctrl)")
        try link("class/nvme-subsystem/nvme-subsys1", "../../\(subsys)")
        let sysfs = Sysfs(root: root, procRoot: root + "/proc")
        XCTAssertEqual(sysfs.nvmeControllers(ofNamespace: "nvme1n1"), ["nvme1"])
        XCTAssertEqual(sysfs.nvmeNamespaces(ofController: "nvme1"), ["nvme1n1"])
        // The kernel names the path in I/O error lines.
        XCTAssertEqual(sysfs.multipathPaths(of: "nvme1n1"), ["nvme1c1n1"])
        XCTAssertEqual(sysfs.multipathPaths(of: "nvme0n1"), [])
        // The single-path controller of the other fixture is unaffected.
        XCTAssertEqual(sysfs.nvmeNamespaces(ofController: "nvme0"), ["nvme0n1"])
    }

    func testNames() {
        XCTAssertTrue(isNVMeNamespaceName("nvme0n1"))
        XCTAssertTrue(isNVMeNamespaceName("nvme12n345"))
        XCTAssertFalse(isNVMeNamespaceName("nvme0c0n1"))
        XCTAssertFalse(isNVMeNamespaceName("nvme0n1p1"))
        XCTAssertFalse(isNVMeNamespaceName("nvme0"))
        XCTAssertTrue(isNVMeControllerName("nvme0"))
        XCTAssertFalse(isNVMeControllerName("nvme-subsys0"))
    }
}
