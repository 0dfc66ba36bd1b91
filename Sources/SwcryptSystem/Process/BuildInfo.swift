import CSwcryptShim

/// What this binary was built as.
public enum BuildInfo {
    /// swcrypt's version: `git describe` of the release build (Scripts/build-release),
    /// or a development build's placeholder that says it is one.
    public static let version = String(cString: swcrypt_shim_version())
}

/// The file the dynamic loader mapped `symbol` from (a shared library's path), or nil.
/// The loader reports it as found, e.g. `/usr/sbin/../lib/swcrypt/...` through an
/// `$ORIGIN` RUNPATH; `.` and `..` are folded lexically (symlinks are not followed:
/// the soname link is the name an admin knows).
public func loadedObjectPath(of symbol: UnsafeRawPointer) -> String? {
    guard let raw = swcrypt_shim_object_path(symbol) else { return nil }
    let path = String(cString: raw)
    guard path.hasPrefix("/") else { return path }
    var parts: [Substring] = []
    for part in path.split(separator: "/") {
        switch part {
        case ".": continue
        case "..": if !parts.isEmpty { parts.removeLast() }
        default: parts.append(part)
        }
    }
    return "/" + parts.joined(separator: "/")
}
