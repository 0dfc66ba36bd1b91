import Foundation
import XCTest
@testable import SwcryptBenchKit

/// fio's --output-format=json, as fio 3.33 (Debian 12) wrote it for the bench's
/// jobs on a 64 MiB file: a sequential write and the read-back with
/// --continue_on_error=read.
final class FioOutputTests: XCTestCase {
    func sample(_ name: String) throws -> Data {
        try Data(contentsOf: ReportGoldenTests.fixtures.appendingPathComponent("fio/\(name)"))
    }

    func testWriteJob() throws {
        let out = try FioOutput.decode(try sample("seq_write.json"))
        XCTAssertEqual(out.fioVersion, "fio-3.33")
        let job = try XCTUnwrap(out.jobs.first)
        XCTAssertEqual(job.jobname, "seq_write")
        XCTAssertEqual(job.error, 0)
        XCTAssertNil(job.totalErr, "fio writes total_err only with --continue_on_error")
        XCTAssertEqual(job.write.ioBytes, 4_314_890_240)
        XCTAssertEqual(job.write.bwBytes, 4_297_699_442)
        XCTAssertEqual(job.write.iops, 4098.605578, accuracy: 1e-9)
        XCTAssertEqual(job.read.ioBytes, 0)
    }

    func testReadBackJob() throws {
        let job = try XCTUnwrap(try FioOutput.decode(try sample("verify.json")).jobs.first)
        XCTAssertEqual(job.jobname, "verify")
        XCTAssertEqual(job.totalErr, 0)
        XCTAssertEqual(job.read.ioBytes, 64 << 20)
        XCTAssertEqual(job.write.ioBytes, 0)
    }

    /// fio can write a warning line in front of the document in its output file.
    func testWarningBeforeTheDocument() throws {
        let data = Data("fio: some warning\n".utf8) + (try sample("verify.json"))
        XCTAssertEqual(try FioOutput.decode(data).jobs.first?.jobname, "verify")
    }

    func testNotFio() {
        XCTAssertThrowsError(try FioOutput.decode(Data(#"{"jobs": [{"jobname": "x"}]}"#.utf8)))
    }

    /// Each job's own options beyond the common ones, as the script gave them.
    func testJobArguments() {
        XCTAssertEqual(FioJobKind.seqRead.fioArguments(rampSeconds: 1), ["--rw=read", "--bs=1M", "--ramp_time=1"])
        XCTAssertEqual(FioJobKind.randWrite.fioArguments(rampSeconds: 1),
                       ["--rw=randwrite", "--bs=4k", "--norandommap", "--serialize_overlap=1", "--randrepeat=0", "--end_fsync=1"])
    }
}
