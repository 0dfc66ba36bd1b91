import Foundation
import SwcryptCore

enum Output {
    static func error(_ line: String) {
        FileHandle.standardError.write(Data("swcrypt: \(line)\n".utf8))
    }

    static func note(_ line: String) {
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }

    /// A prompt on stderr without a newline (stdout stays clean for scripts).
    static func prompt(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }
}
