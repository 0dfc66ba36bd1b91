import Foundation
import SwcryptCore

/// The initialisation's progress: the terminal line and cryptsetup's
/// `--progress-json` line (numbers as strings, as cryptsetup prints them).
public enum ProgressOutput {
    /// `\rinitialising tags:  42.0%   123.4 MiB/s  ETA 1:05 ` (stderr, rewritten in place).
    public static func terminalLine(_ p: WipeProgress) -> String {
        let pct = p.total > 0 ? 100 * Double(p.done) / Double(p.total) : 0
        let rate = p.bytesPerSecond / 1_048_576
        let eta = p.bytesPerSecond > 0 ? Int(Double(p.total - p.done) / p.bytesPerSecond) : 0
        let label = p.phase == .scrub ? "scrubbing" : "initialising tags"
        return "\r\(label): " + String(format: "%5.1f%%  %7.1f MiB/s  ETA %d:%02d ", pct, rate, eta / 60, eta % 60)
    }

    /// One JSON object and a newline (device, device_bytes, device_size, speed, eta_ms, time_ms, phase).
    public static func jsonLine(device: String, _ p: WipeProgress) -> String {
        let speed = UInt64(p.bytesPerSecond)
        let eta = p.done < p.total && p.bytesPerSecond > 0 ? UInt64(Double(p.total - p.done) / p.bytesPerSecond * 1000) : 0
        let escaped = device.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "{\"device\":\"\(escaped)\",\"device_bytes\":\"\(p.done)\",\"device_size\":\"\(p.total)\",\"speed\":\"\(speed)\",\"eta_ms\":\"\(eta)\",\"time_ms\":\"\(UInt64(p.seconds * 1000))\",\"phase\":\"\(p.phase.rawValue)\"}\n"
    }
}
