import SwcryptKit

/// The `--json` shape of a test device (snake_case field names, stable).
public struct TestDeviceReport: Encodable {
    public var device: String
    public var kind: TestDeviceKind
    public var sizeBytes: UInt64
    public var logicalBlockSize: Int
    public var integrityFormat: String
    @ExplicitNull public var backingFile: String?
    @ExplicitNull public var directIO: Bool?


    public init(_ d: TestDevice) {
        device = d.device
        kind = d.kind
        sizeBytes = d.sizeBytes
        logicalBlockSize = d.logicalBlockSize
        integrityFormat = d.integrityFormat
        backingFile = d.backingFile
        directIO = d.directIO
    }

    /// `testdev ls`: one device a line.
    public var line: String {
        var line = "\(device)  \(kind.rawValue)  \(sizeBytes) bytes  block \(logicalBlockSize)  integrity \(integrityFormat)"
        if let backingFile { line += "  backing \(backingFile)" + (directIO == true ? " (direct I/O)" : "") }
        return line
    }
}

public struct TestDeviceListReport: Encodable {
    public var devices: [TestDeviceReport]
    public init(_ devices: [TestDevice]) { self.devices = devices.map(TestDeviceReport.init) }
}
