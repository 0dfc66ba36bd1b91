import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a LUKS2 header (a device or a header backup file).",
        discussion: "--json gives swcrypt's summary and, under \"luks2\", the complete LUKS2 metadata as libcryptsetup dumps it (cryptsetup luksDump --dump-json-metadata).")
    @Argument var device: String
    @Flag var json = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let manager = VolumeManager()
        let summary = VolumeReport(header: try manager.dump(path: device))
        guard json else { return Output.lines(summary.lines) }
        let text = try manager.metadataJSON(path: device)
        let metadata: JSONValue
        do { metadata = try JSONValue(parsing: text) } catch {
            throw SwcryptError(.failure, device: device, "libcryptsetup's metadata dump is not JSON", cause: "\(error)")
        }
        try Output.json(DumpReport(summary: summary, metadata: metadata))
    }
}
