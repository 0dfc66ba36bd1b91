import SwcryptKit

/// `swcrypt --version`.
extension VersionInfo {
    /// Two lines, in the spirit of `cryptsetup --version`.
    public var lines: [String] {
        let library = "libcryptsetup \(libcryptsetup ?? "(version unknown)")"
            + (libcryptsetupPath.map { " (\($0))" } ?? "")
            + (inlineHWTags ? "" : ", without LUKS2 inline HW tags")
        return ["swcrypt \(swcrypt)", library]
    }
}
