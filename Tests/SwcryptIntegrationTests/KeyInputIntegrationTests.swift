import Foundation
import XCTest

/// Key input at its edges, with the reference cryptsetup 2.8 as the witness: a
/// passphrase with NUL bytes and newlines is all of the file's bytes (no line
/// ending stripped), --keyfile-offset/--keyfile-size select the same bytes as
/// cryptsetup's, /dev/zero is refused without a size (cryptsetup: "Maximum
/// keyfile size exceeded") and is 64 zero bytes with one, and a file shorter than
/// asked is refused before any keyslot is tried. Each case: swcrypt's exit code is
/// cryptsetup's (0 opens, 1 bad key input, 2 no keyslot opens) and a refusal is
/// one line naming the file or device.
///
/// Kernel-independent (`open --test-passphrase` activates nothing): runs in the
/// stock kernel's suite only.
final class KeyInputIntegrationTests: LUKSTestCase {
    var loop = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        try VM.loadModules("loop")
        guard VM.kernelKind == "stock" else {
            throw XCTSkip("skipped, because key input does not depend on the kernel and is tested in the stock kernel's suite")
        }
    }

    override func tearDownWithError() throws {
        if !loop.isEmpty { _ = try? execute(["losetup", "-d", loop]) }
        _ = try? sh("rm -rf \(dir)")
    }

    func testKeyFilesSelectTheBytesCryptsetupSelects() throws {
        let image = "\(dir)/keys.img"
        // Keyslot 0: "a\0b\nc\n" (NUL and newlines, the trailing one included).
        // Keyslot 1: 64 zero bytes (as `--key-file /dev/zero --keyfile-size 64`).
        try must(["bash", "-c", """
            cd \(dir) && printf 'a\\0b\\nc\\n' > nul-newlines && printf 'a\\0b\\nc' > no-trailing-newline \
            && head -c 64 /dev/zero > zeros64 && (cat nul-newlines; printf 'junk') > with-junk \
            && (printf 'XYZ'; cat nul-newlines) > with-prefix && head -c 3 nul-newlines > truncated \
            && : > empty && truncate -s 20M \(image)
            """])
        let pbkdf = ["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"]
        try must([cryptsetup, "luksFormat", "--type", "luks2", "--batch-mode", "--key-file", "\(dir)/nul-newlines"] + pbkdf + [image])
        try must([cryptsetup, "luksAddKey", "--batch-mode", "--key-file", "\(dir)/nul-newlines"] + pbkdf + [image, "\(dir)/zeros64"])
        loop = try must(["losetup", "--find", "--show", image]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let cases: [(String, [String], Int32)] = [
            ("the whole file, NUL and trailing newline included", ["--key-file", "\(dir)/nul-newlines"], 0),
            ("without the trailing newline: another passphrase", ["--key-file", "\(dir)/no-trailing-newline"], 2),
            ("--keyfile-size cuts the junk off", ["--key-file", "\(dir)/with-junk", "--keyfile-size", "6"], 0),
            ("the junk included", ["--key-file", "\(dir)/with-junk"], 2),
            ("--keyfile-offset skips a prefix", ["--key-file", "\(dir)/with-prefix", "--keyfile-offset", "3"], 0),
            ("--keyfile-size shorter than the key", ["--key-file", "\(dir)/nul-newlines", "--keyfile-size", "3"], 2),
            ("a truncated key file", ["--key-file", "\(dir)/truncated"], 2),
            ("--keyfile-size beyond the file", ["--key-file", "\(dir)/nul-newlines", "--keyfile-size", "100"], 1),
            ("--keyfile-offset beyond the file", ["--key-file", "\(dir)/nul-newlines", "--keyfile-offset", "100"], 1),
            ("/dev/zero without a size", ["--key-file", "/dev/zero"], 1),
            ("/dev/zero, 64 bytes", ["--key-file", "/dev/zero", "--keyfile-size", "64"], 0),
            ("/dev/zero, 64 bytes after an offset", ["--key-file", "/dev/zero", "--keyfile-size", "64", "--keyfile-offset", "4096"], 0),
            ("an empty key file", ["--key-file", "\(dir)/empty"], 1),
            ("a directory", ["--key-file", dir], 1),
            ("a missing file", ["--key-file", "\(dir)/missing"], 1),
        ]
        for (what, args, expected) in cases {
            let r = try execute([VM.swcrypt, "open", "--test-passphrase", loop] + args)
            let witness = try execute([cryptsetup, "open", "--test-passphrase", loop] + args)
            let context = "\(what): swcrypt \(r.status) (\(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))), cryptsetup \(witness.status) (\(witness.stderr.trimmingCharacters(in: .whitespacesAndNewlines)))"
            XCTAssertEqual(r.status, expected, context)
            // cryptsetup refuses an empty key file only for some operations; on the
            // others swcrypt's code is cryptsetup's.
            if what != "an empty key file" { XCTAssertEqual(r.status, witness.status, context) }
            if expected != 0 {
                let lines = r.stderr.split(separator: "\n")
                XCTAssertEqual(lines.count, 1, context)
                XCTAssertTrue(lines.first?.hasPrefix("swcrypt: ") == true, context)
            }
        }
        // Key material never larger than the limit, even when asked for.
        let big = try execute([VM.swcrypt, "open", "--test-passphrase", loop, "--key-file", "/dev/zero", "--keyfile-size", "9000000"])
        XCTAssertEqual(big.status, 1, big.stderr)
        XCTAssertTrue(big.stderr.contains("--keyfile-size 9000000 is above the 8388608-byte limit"), big.stderr)
    }
}
