import SwcryptCore
import SwcryptKit

/// `map ...`, `map passthrough --reload` and `ls`: one mapping.
public struct MappingReport: Encodable {
    public var name: String, device: String, dm: String, uuid: String, major: Int, minor: Int

    public init(_ i: MappingInfo) {
        name = i.name; device = i.devicePath; dm = i.kernelName; uuid = i.uuid; major = i.major; minor = i.minor
    }

    /// `/dev/mapper/NAME (dm-N) SWCRYPT-...`
    public var line: String { "\(device) (\(dm)) \(uuid)" }
}

/// `ls`: the mappings swcrypt made, one stack a line.
public struct StackReport: Encodable {
    public var name: String
    public var device: String
    public var stack: String
    public var layers: [MappingReport]

    public init(_ s: StackSummary) {
        name = s.name
        device = s.devicePath
        stack = s.stack
        layers = s.layers.map(MappingReport.init)
    }

    public var line: String {
        "\(name)\t\(device)\tlayers: " + layers.map { "\($0.name) (\($0.dm))" }.joined(separator: " <- ")
    }
}
