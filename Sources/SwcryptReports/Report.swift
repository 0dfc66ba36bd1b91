import SwcryptCore

/// What a command prints: human lines, or with `--json` one JSON document.
public protocol Report {
    associatedtype JSON: Encodable
    /// Human output, a line each.
    var lines: [String] { get }
    /// The `--json` shape.
    var json: JSON { get }
}

extension Report where Self: Encodable {
    /// Shapes that are their own JSON.
    public var json: Self { self }
}

extension NamespaceReport: Report {
    public var json: NamespaceReportJSON { NamespaceReportJSON(self) }
}

extension CheckReport: Report {
    public var json: CheckReportJSON { CheckReportJSON(self) }
}

extension InlineCryptoReport: Report {
    public var json: InlineCryptoReportJSON { InlineCryptoReportJSON(self) }
}

extension VolumeReport: Report {}
extension NvmeFormatReport: Report {}
extension FormatVolumeReport: Report {}

/// One item of a list a command prints a line each (mappings, stacks, test devices).
public protocol LineItem: Encodable {
    var line: String { get }
}

/// A list: a line per item, or the JSON array.
extension Array: Report where Element: LineItem {
    public var lines: [String] { map(\.line) }
    public var json: [Element] { self }
}

extension MappingReport: LineItem {}
extension StackReport: LineItem {}
extension TestDeviceReport: LineItem {}

extension TestDeviceListReport: Report {
    public var lines: [String] { devices.map(\.line) }
}
