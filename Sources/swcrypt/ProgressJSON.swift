import ArgumentParser
import Foundation
import Synchronization
import SwcryptCore
import SwcryptKit
import SwcryptReports

/// cryptsetup's --progress-json lines (strings for the numbers, as cryptsetup
/// prints them), at most one a second per phase and always the last one.
final class ProgressJSON: Sendable {
    let device: String
    let last = Mutex<(phase: WipeProgress.Phase, seconds: Double)?>(nil)

    init(device: String) { self.device = device }

    @Sendable func report(_ p: WipeProgress) {
        let due = last.withLock { previous -> Bool in
            let finalLine = p.done == p.total
            guard finalLine || previous == nil || previous!.phase != p.phase || p.seconds - previous!.seconds >= 1 else { return false }
            previous = (p.phase, p.seconds)
            return true
        }
        guard due else { return }
        Output.stdout(ProgressOutput.jsonLine(device: device, p))
    }
}
