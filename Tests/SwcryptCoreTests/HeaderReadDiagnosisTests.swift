import SwcryptCore
import XCTest

/// libcryptsetup 2.8.8's debug lines for one `crypt_load` (captured from
/// `cryptsetup luksDump --debug` on mangled headers), read into what each copy was.
final class HeaderReadDiagnosisTests: XCTestCase {
    func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    func testBothCopiesRefusedByTheValidatorNamesTheReason() throws {
        let d = try XCTUnwrap(HeaderReadDiagnosis(debugLines: lines("""
            Loading LUKS2 header (repair disabled).
            Trying to read primary LUKS2 header at offset 0x0.
            Reusing open ro fd on device c2.img
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            Checksum:cd4f5a1c (on-disk)
            Checksum:cd4f5a1c (in-memory)
            Keyslots section "" is missing "3" (object) specification.
            Repairing JSON metadata.
            Keyslots section "" is missing "3" (object) specification.
            ERROR: LUKS2 validation failed
            Trying to read secondary LUKS2 header at offset 0x4000.
            Reusing open ro fd on device c2.img
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            Checksum:2ba98303 (on-disk)
            Checksum:2ba98303 (in-memory)
            Keyslots section "" is missing "3" (object) specification.
            Repairing JSON metadata.
            Keyslots section "" is missing "3" (object) specification.
            ERROR: LUKS2 validation failed
            LUKS2 header read failed (-22).
            Device c2.img READ lock released.
            """)))
        let reason = HeaderReadDiagnosis.State.invalid(["Keyslots section \"\" is missing \"3\" (object) specification."])
        XCTAssertEqual(d, HeaderReadDiagnosis(primary: reason, secondary: reason))
        XCTAssertFalse(d.noHeader)
        XCTAssertEqual(d.summary, "primary copy: refused: Keyslots section \"\" is missing \"3\" (object) specification; secondary copy: refused: Keyslots section \"\" is missing \"3\" (object) specification")
        XCTAssertNil(d.repairWarning)
    }

    /// Both checksums wrong: libcryptsetup then probes every other secondary
    /// offset and finds nothing there; the copy it did find counts.
    func testSecondaryProbesAfterAFoundCopyDoNotHideIt() throws {
        var text = """
            Trying to read primary LUKS2 header at offset 0x0.
            Reusing open ro fd on device c3.img
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            LUKS2 header checksum error (offset 0).
            Trying to read secondary LUKS2 header at offset 0x4000.
            Reusing open ro fd on device c3.img
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            LUKS2 header checksum error (offset 16384).
            """
        for offset in ["0x8000", "0x10000", "0x20000", "0x400000"] {
            text += "\nTrying to read secondary LUKS2 header at offset \(offset).\nReusing open ro fd on device c3.img"
        }
        text += "\nLUKS2 header read failed (-22)."
        let d = try XCTUnwrap(HeaderReadDiagnosis(debugLines: lines(text)))
        XCTAssertEqual(d, HeaderReadDiagnosis(primary: .checksumMismatch, secondary: .checksumMismatch))
        XCTAssertEqual(d.summary, "primary copy: checksum mismatch; secondary copy: checksum mismatch")
    }

    func testNoMagicAnywhereIsNoHeader() throws {
        var text = "Trying to read primary LUKS2 header at offset 0x0."
        for offset in ["0x4000", "0x8000", "0x400000"] { text += "\nTrying to read secondary LUKS2 header at offset \(offset)." }
        text += "\nLUKS2 header read failed (-22)."
        let d = try XCTUnwrap(HeaderReadDiagnosis(debugLines: lines(text)))
        XCTAssertTrue(d.noHeader)
        XCTAssertNil(HeaderReadDiagnosis(debugLines: ["Allocating context for crypt device x."]), "no LUKS2 read: no diagnosis")
    }

    /// The first pass (read lock) cannot write the repair and fails with -EAGAIN;
    /// libcryptsetup retries under the write lock and repairs: the last pass counts.
    func testARepairAfterARetryIsReported() throws {
        let pass = """
            Trying to read primary LUKS2 header at offset 0x0.
            Reusing open ro fd on device ro.img
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            Checksum:84977f41 (on-disk)
            Checksum:84977f41 (in-memory)
            Trying to read secondary LUKS2 header at offset 0x4000.
            Reusing open ro fd on device ro.img
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            Checksum:7c8daa16 (on-disk)
            Checksum:6d031a2a (in-memory)
            LUKS2 header checksum error (offset 16384).
            Device size 20971520, offset 16777216.
            Secondary LUKS2 header requires recovery.
            Blkid probe detected no foreign device signature.
            Trying to write LUKS2 header (12288 bytes) at offset 16384.
            Opening locked device ro.img
            """
        let failed = pass + """

            Cannot open locked device ro.img in write mode. Read lock held.
            Cannot open device ro.img for write.
            Secondary LUKS2 header recovery failed.
            LUKS2 header read failed (-11).
            Device ro.img READ lock released.
            Acquiring write lock for device ro.img.
            """
        let repaired = pass + """

            Verifying locked device handle (regular file)
            Checksum:d4133658 (in-memory)
            Device ro.img WRITE lock released.
            """
        let once = try XCTUnwrap(HeaderReadDiagnosis(debugLines: lines(failed)))
        XCTAssertEqual(once, HeaderReadDiagnosis(primary: .valid, secondary: .checksumMismatch, repairFailed: .secondary))
        XCTAssertEqual(once.repairWarning, "the secondary LUKS2 header copy is damaged (checksum mismatch) and could not be rewritten here (read-only?); the volume works from the other copy")
        let d = try XCTUnwrap(HeaderReadDiagnosis(debugLines: lines(failed + "\n" + repaired)))
        XCTAssertEqual(d, HeaderReadDiagnosis(primary: .valid, secondary: .checksumMismatch, repaired: .secondary))
        XCTAssertEqual(d.repairWarning, "the secondary LUKS2 header copy was damaged (checksum mismatch); libcryptsetup rewrote it from the primary copy")
    }

    /// Requirement lines inside a copy's section are bookkeeping, not reasons.
    func testRequirementLinesAreNotReasons() throws {
        let d = try XCTUnwrap(HeaderReadDiagnosis(debugLines: lines("""
            Trying to read primary LUKS2 header at offset 0x0.
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            LUKS2 requirements detected:
            frobnicate - unknown
            Trying to read secondary LUKS2 header at offset 0x4000.
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            LUKS2 requirements detected:
            frobnicate - unknown
            Device size 20971520, offset 16777216.
            """)))
        XCTAssertEqual(d, HeaderReadDiagnosis(primary: .valid, secondary: .valid))
        XCTAssertNil(d.repairWarning)
    }

    /// The magic is there but the binary header is not usable: a reason, not "no header".
    func testABinaryHeaderRefusalIsAReason() throws {
        let d = try XCTUnwrap(HeaderReadDiagnosis(debugLines: lines("""
            Trying to read primary LUKS2 header at offset 0x0.
            Reusing open ro fd on device x.img
            LUKS2 header has bogus size 0x3039.
            Trying to read secondary LUKS2 header at offset 0x4000.
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            LUKS2 header checksum error (offset 16384).
            LUKS2 header read failed (-22).
            """)))
        XCTAssertEqual(d, HeaderReadDiagnosis(primary: .invalid(["LUKS2 header has bogus size 0x3039."]), secondary: .checksumMismatch))
        XCTAssertFalse(d.noHeader)
        XCTAssertTrue(d.copyFailed)
    }

    /// A reason logged before "Repairing JSON metadata." and not after it: the
    /// in-memory repair made the copy valid.
    func testAReasonTheRepairCuredIsNoReason() throws {
        let d = try XCTUnwrap(HeaderReadDiagnosis(debugLines: lines("""
            Trying to read primary LUKS2 header at offset 0x0.
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            Keyslot 0 area overlaps legacy field.
            Repairing JSON metadata.
            Trying to read secondary LUKS2 header at offset 0x4000.
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            Device size 20971520, offset 16777216.
            """)))
        XCTAssertEqual(d, HeaderReadDiagnosis(primary: .valid, secondary: .valid))
        XCTAssertFalse(d.copyFailed, "both copies read: a failure after them is not the copies' fault")
    }

    /// With libcryptsetup's locking off it does not write the repair.
    func testNoRepairWhenAutoRecoveryIsDisabled() throws {
        let d = try XCTUnwrap(HeaderReadDiagnosis(debugLines: lines("""
            Trying to read primary LUKS2 header at offset 0x0.
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            LUKS2 header checksum error (offset 0).
            Trying to read secondary LUKS2 header at offset 0x4000.
            LUKS2 header version 2 of size 16384 bytes, checksum sha256.
            Device size 20971520, offset 16777216.
            Disabling header auto-recovery due to locking being disabled.
            Primary LUKS2 header requires recovery.
            """)))
        XCTAssertNil(d.repaired)
        XCTAssertEqual(d.repairFailed, .primary)
    }
}
