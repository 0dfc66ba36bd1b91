@testable import SwcryptCore

/// A block device named `path` with the given geometry, for validation and check rules.
func blockTarget(path: String, name: String = "fixture", kind: BlockDevice.Kind = .other, logicalBlockSize: Int,
                 physicalBlockSize: Int? = nil, sizeBytes: UInt64, metadataBytes: Int? = 0,
                 integrityFormat: String = "none", integrityTagSize: Int = 0, holders: [Holder] = []) -> BlockTarget {
    BlockTarget(path: path, device: BlockDevice(name: name, major: 259, minor: 0, kind: kind, logicalBlockSize: logicalBlockSize,
                                                physicalBlockSize: physicalBlockSize ?? logicalBlockSize, sizeBytes: sizeBytes,
                                                metadataBytes: metadataBytes, integrity: IntegrityProfile(sysfs: integrityFormat),
                                                integrityTagSize: integrityTagSize, holders: holders))
}
