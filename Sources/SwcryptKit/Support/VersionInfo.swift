import SwcryptSystem
import SwcryptLUKS

/// `swcrypt --version`: swcrypt's own version and the libcryptsetup it runs with
/// (the package ships a private 2.8 copy; a distribution build uses the system's).
public struct VersionInfo: Sendable {
    public let swcrypt: String
    /// nil when the library did not state its version.
    public let libcryptsetup: String?
    /// Where the dynamic loader found libcryptsetup.
    public let libcryptsetupPath: String?
    public let inlineHWTags: Bool

    public init(swcrypt: String, libcryptsetup: String?, libcryptsetupPath: String?, inlineHWTags: Bool) {
        self.swcrypt = swcrypt
        self.libcryptsetup = libcryptsetup
        self.libcryptsetupPath = libcryptsetupPath
        self.inlineHWTags = inlineHWTags
    }

    public static func current() -> VersionInfo {
        VersionInfo(swcrypt: BuildInfo.version, libcryptsetup: LUKSLibrary.version,
                    libcryptsetupPath: LUKSLibrary.path, inlineHWTags: LUKSLibrary.hasInlineHWTags)
    }
}
