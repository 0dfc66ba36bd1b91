import Foundation

/// Every `--json` output: pretty-printed, keys sorted, slashes not escaped, keys in
/// snake_case from the Swift names (`logicalBlockSize` is `logical_block_size`), so
/// a report type's properties are its wire format. The null policy is `ExplicitNull`:
/// a key with no value is present as `null`.
public enum JSONText {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

extension JSONText {
    /// One line of a JSON-lines stream (`watch`): compact, keys sorted, snake_case, newline-terminated.
    public static func line<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }
}
