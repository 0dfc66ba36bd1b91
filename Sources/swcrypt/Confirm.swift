import ArgumentParser
import Foundation
import Synchronization
import SwcryptCore
import SwcryptKit
import SwcryptReports

enum Confirm {
    /// Asks "QUESTION [y/N]" on a terminal; -q/--batch-mode skips; no terminal refuses.
    static func yesNo(_ question: String, path: String, yes: Bool) throws {
        if yes { return }
        guard isatty(STDIN_FILENO) == 1 else {
            throw SwcryptError(.failure, device: path, "refusing without confirmation: no terminal to ask on; pass -q/--batch-mode (or --yes)")
        }
        Output.prompt("\(question) [y/N] ")
        let answer = (readLine(strippingNewline: true) ?? "").lowercased()
        guard answer == "y" || answer == "yes" else {
            throw SwcryptError(.failure, device: path, "not confirmed; nothing was changed")
        }
    }

    /// Asks to type the device name back, on a terminal; -q/--batch-mode skips; no terminal refuses.
    static func typeBack(_ name: String, path: String, summary: [String], yes: Bool) throws {
        if yes { return }
        guard isatty(STDIN_FILENO) == 1 else {
            throw SwcryptError(.failure, device: path, "refusing without confirmation: no terminal to ask on; pass -q/--batch-mode (or --yes)")
        }
        Output.note("WARNING: this destroys all data.")
        for line in summary { Output.note(line) }
        Output.prompt("Type the device name (\(name)) to continue: ")
        let answer = readLine(strippingNewline: true) ?? ""
        guard answer == name || answer == "/dev/\(name)" || answer == path else {
            throw SwcryptError(.failure, device: path, "not confirmed; nothing was changed")
        }
    }
}
