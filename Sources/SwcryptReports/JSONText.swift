import Foundation

/// Every `--json` output: pretty-printed, keys sorted, slashes not escaped. The
/// null policy is `ExplicitNull`: a key with no value is present as `null`.
public enum JSONText {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
