import Foundation

/// What the bench reads of fio's `--output-format=json`.
public struct FioOutput: Decodable, Sendable {
    public struct Job: Decodable, Sendable {
        public var jobname: String
        /// fio's own error (errno) for the job; 0 when none.
        public var error: Int
        /// I/Os that failed under --continue_on_error (the read-back counts them).
        public var totalErr: Int?
        public var read: Direction
        public var write: Direction
    }

    public struct Direction: Decodable, Sendable {
        public var ioBytes: Int
        public var bwBytes: Int
        public var iops: Double
        /// Completion latency; `percentile` keyed as fio writes it ("99.000000").
        public var clatNs: Latency?
    }

    public struct Latency: Decodable, Sendable {
        public var percentile: [String: Double]?
    }

    public var fioVersion: String?
    public var jobs: [Job]

    enum CodingKeys: String, CodingKey {
        case fioVersion = "fio version"
        case jobs
    }

    /// Decodes fio's output. fio can put a warning line ("fio: ...") in front of the
    /// JSON in the output file; the document starts at the first line that is "{".
    public static func decode(_ data: Data) throws -> FioOutput {
        var body = data
        if let text = String(data: data, encoding: .utf8), !text.hasPrefix("{"),
           let start = text.range(of: "\n{\n") {
            body = Data(text[text.index(after: start.lowerBound)...].utf8)
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(FioOutput.self, from: body)
    }
}

extension FioJobKind {
    /// What each job does beyond the common options (direct I/O, libaio, QD 16, time-based).
    func fioArguments(rampSeconds: Int) -> [String] {
        switch self {
        case .seqWrite: return ["--rw=write", "--bs=1M", "--end_fsync=1"]
        case .seqRead: return ["--rw=read", "--bs=1M", "--ramp_time=\(rampSeconds)"]
        // serialize_overlap: without it, two writes to one block can be in flight
        // together, which QEMU's NVMe does not keep atomic with the block's metadata
        // (the bench's old EILSEQ; README "Test-bed findings", Scripts/torture/eilseq).
        case .randWrite: return ["--rw=randwrite", "--bs=4k", "--norandommap", "--serialize_overlap=1", "--randrepeat=0", "--end_fsync=1"]
        }
    }

    var isWrite: Bool { self != .seqRead }
}

/// One fio job's numbers as the bench keeps them.
struct FioMeasurement {
    var mibS: Double?
    var iops: Double?
    var bytes: Int?
    /// The 99th percentile of completion latency, in microseconds.
    var p99Us: Double?
    var error: String?
}
