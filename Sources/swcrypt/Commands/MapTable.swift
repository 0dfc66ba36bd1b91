import ArgumentParser
import SwcryptCore
import SwcryptKit
import SwcryptReports

struct MapTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Load a raw table from a file after validating it. Keys must be keyring references (:<size>:logon:<desc>) to a key already in your user keyring.")

    @Argument var name: String
    @Option(help: "Table file ('-' for standard input).") var tableFile: String
    @Flag(help: "Accept insecure constructions and hex keys.") var allowInsecure = false
    @OptionGroup var common: MapCommon

    func run() throws {
        common.global.apply()
        let text = try TextInput.read(tableFile)
        let mapper = try Mapper.privileged()
        try MapOutput.finish(try mapper.planTable(name: name, text: text, readOnly: common.readOnly,
                                                  allowInsecure: allowInsecure), mapper, common)
    }
}

enum TextInput {
    static func read(_ path: String) throws -> String {
        if path == "-" {
            var lines = [String]()
            while let l = readLine(strippingNewline: false) { lines.append(l) }
            return lines.joined()
        }
        guard let t = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SwcryptError(.failure, device: path, "cannot read the table file")
        }
        return t
    }
}
