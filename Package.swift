// swift-tools-version:6.0
//
// Layering (see README "Architecture"):
//   swcrypt (executable, ArgumentParser only)
//     -> SwcryptReports (every command's human lines and --json shape)
//     -> SwcryptKit (workflows: plans, safety checks, verification)
//        -> SwcryptCore (pure models and rules: block devices, ciphers, tables, NVMe identify, check)
//        -> SwcryptSystem (system access: sysfs/procfs, block I/O, AF_ALG, modprobe, the journal; roots injectable;
//                          imports CSwcryptShim and CSystemd / libsystemd's sd_journal_sendv)
//        -> SwcryptNVMe (the only importer of CNVMe / libnvme)
//        -> SwcryptDeviceMapper (the only importer of CDeviceMapper / libdevmapper)
//        -> SwcryptKeys (the only importer of CKeyutils / libkeyutils)
//        -> SwcryptLUKS (the only importer of CCryptsetup / libcryptsetup >= 2.8)
//        -> SwcryptBlkid (the only importer of CBlkid / libblkid: signatures on devices)
// Each C module is imported by exactly one Swift module, with `internal import`.
import PackageDescription
import Foundation

// libcryptsetup >= 2.8 (inline HW tags). Debian 12 has 2.6, so Scripts/setup builds
// 2.8 into .deps/cryptsetup (pkg-config finds it through Scripts/env.sh); the
// binary then carries an rpath to it. With a system libcryptsetup >= 2.8 there is
// no .deps and no rpath.
let depsLib = Context.packageDirectory + "/.deps/cryptsetup/lib"
let cryptsetupRpath: [LinkerSetting] = FileManager.default.fileExists(atPath: depsLib)
    ? [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", depsLib])] : []

let package = Package(
    name: "swcrypt",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "swcrypt", targets: ["swcrypt"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        // C libraries, found through pkg-config.
        .systemLibrary(name: "CNVMe", pkgConfig: "libnvme", providers: [.apt(["libnvme-dev"])]),
        .systemLibrary(name: "CDeviceMapper", pkgConfig: "devmapper", providers: [.apt(["libdevmapper-dev"])]),
        .systemLibrary(name: "CCryptsetup", pkgConfig: "libcryptsetup", providers: [.apt(["libcryptsetup-dev"])]),
        .systemLibrary(name: "CKeyutils", pkgConfig: "libkeyutils", providers: [.apt(["libkeyutils-dev"])]),
        .systemLibrary(name: "CBlkid", pkgConfig: "blkid", providers: [.apt(["libblkid-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // libdevmapper's log hook is C-variadic; this formats and forwards (see its header).
        .target(name: "CDeviceMapperShim", dependencies: ["CDeviceMapper"]),
        // Only what Swift cannot import from C: ioctl request numbers and CMSG sizes built by macros.
        .target(name: "CSwcryptShim"),

        // The fault-injection hook (SWCRYPT_INJECT_FAULT) exists in debug (test) builds only.
        .target(name: "SwcryptCore", dependencies: [.product(name: "SystemPackage", package: "swift-system")],
                swiftSettings: [.define("SWCRYPT_FAULT_INJECTION", .when(configuration: .debug))]),
        .target(
            name: "SwcryptSystem",
            dependencies: [
                "SwcryptCore", "CSwcryptShim", "CSystemd",
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .target(
            name: "SwcryptNVMe",
            dependencies: [
                "SwcryptCore", "CNVMe",
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .target(
            name: "SwcryptDeviceMapper",
            dependencies: ["SwcryptCore", "SwcryptSystem", "CDeviceMapper", "CDeviceMapperShim",
                           .product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "SwcryptKeys",
            dependencies: ["SwcryptCore", "CKeyutils",
                           .product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "SwcryptBlkid",
            dependencies: ["SwcryptCore", "CBlkid"]),
        .target(
            name: "SwcryptLUKS",
            dependencies: ["SwcryptCore", "SwcryptSystem", "SwcryptKeys", "CCryptsetup",
                           .product(name: "SystemPackage", package: "swift-system")],
            linkerSettings: cryptsetupRpath),
        .target(
            name: "SwcryptKit",
            dependencies: [
                "SwcryptCore", "SwcryptSystem", "SwcryptNVMe", "SwcryptDeviceMapper", "SwcryptKeys", "SwcryptLUKS",
                "SwcryptBlkid",
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        // Every command's human lines and --json shape, built from the Kit's results (pure).
        .target(name: "SwcryptReports", dependencies: ["SwcryptCore", "SwcryptKit"]),
        .executableTarget(
            name: "swcrypt",
            dependencies: [
                "SwcryptKit", "SwcryptCore", "SwcryptReports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: cryptsetupRpath),

        // The benchmark's in-guest runner, its report and crash-test's read-back (Scripts/bench,
        // Scripts/crash-test): a test tool, not a product, never shipped. fio stays the witness.
        .target(name: "SwcryptBenchKit", dependencies: ["SwcryptCore", "SwcryptSystem", "SwcryptReports"]),
        .executableTarget(
            name: "swcrypt-bench",
            dependencies: ["SwcryptBenchKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "SwcryptBenchTests", dependencies: ["SwcryptBenchKit", "SwcryptReports"], exclude: ["Fixtures"]),

        // Tier 1: pure unit tests (host). Tier 2/3: the built binary against real
        // kernel devices (only inside the test VM; they skip with a reason elsewhere).
        .testTarget(name: "SwcryptCoreTests", dependencies: ["SwcryptCore", "SwcryptSystem", "SwcryptKit", "SwcryptKeys", "SwcryptBlkid", "SwcryptReports"],
                    // Golden/: every command's human and --json output (GoldenOutputTests).
                    exclude: ["Golden"]),
        // Fscrypt.swift (fscrypt's ioctls, to test inline-encryption passthrough) lives here: test-only, not in the product.
        .testTarget(name: "SwcryptIntegrationTests", dependencies: ["SwcryptCore", "SwcryptSystem", "SwcryptKit", "SwcryptNVMe", "CSwcryptShim",
                                                                     .product(name: "SystemPackage", package: "swift-system")]),
    ]
)
